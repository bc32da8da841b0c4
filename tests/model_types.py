"""A test helper: every field of a claim or findings model (and of the models inside it) holds a
value of its declared type. The models do not validate on construction (the readers check the
values they build them from), so the tests check what the readers produce."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found


def _check(value: Any, hint: Any, where: str) -> None:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Final or origin is typing.ClassVar:
        _check(value, args[0], where)
    elif origin is typing.Literal:
        assert value in args, f"{where}: {value!r} is not one of {args}"
    elif origin in (typing.Union, types.UnionType):
        errors = []
        for arg in args:
            try:
                _check(value, arg, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError("; ".join(errors))
    elif origin is list:
        assert type(value) is list, f"{where}: expected a list, got {type(value).__name__}"
        for i, item in enumerate(value):
            _check(item, args[0], f"{where}[{i}]")
    elif origin is dict:
        assert type(value) is dict, f"{where}: expected a dict, got {type(value).__name__}"
        for key, item in value.items():
            _check(key, args[0], f"{where} key")
            _check(item, args[1], f"{where}[{key!r}]")
    elif hint is Any:
        return
    elif hint is type(None):
        assert value is None, f"{where}: expected None, got {value!r}"
    elif hint is dt.date:
        assert type(value) is dt.date, f"{where}: expected a date, got {value!r}"
    elif hint is int:
        assert type(value) is int, f"{where}: expected an int, got {value!r}"
    elif hint in (str, bool, Decimal):
        assert isinstance(value, hint), f"{where}: expected {hint.__name__}, got {value!r}"
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
        assert isinstance(value, hint), f"{where}: expected {hint.__name__}, got {type(value).__name__}"
        check_model(value, where)
    elif isinstance(hint, type):
        assert isinstance(value, hint), f"{where}: expected {hint.__name__}, got {value!r}"
    else:
        raise AssertionError(f"{where}: the helper does not know the type {hint!r}")


def check_model(obj: Any, where: str = "$") -> None:
    """Assert that every field of dataclass instance `obj`, recursively, has its declared type."""
    assert dataclasses.is_dataclass(obj) and not isinstance(obj, type), f"{where}: not a model: {obj!r}"
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        _check(getattr(obj, f.name), hints[f.name], f"{where}.{f.name}")
