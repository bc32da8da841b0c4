"""A test helper: every field of a claim or findings model (and of the models inside it) holds a
value of its declared type. The models do not validate on construction (the readers check the
values they build them from), so the tests check what the readers produce."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import importlib.util
import sys
import types
import typing
from decimal import Decimal
from typing import Any

_HINTS: dict[type, dict[str, Any]] = {}
_SOURCES: dict[str, types.ModuleType] = {}
_PREFIX = "_model_types_source_"


def _source_module(name: str) -> types.ModuleType:
    """The module `name` executed from its .py file under another name: a mypyc-compiled class
    keeps no usable annotations (they read as `type`), its source does."""
    found = _SOURCES.get(name)
    if found is None:
        from cartcode._build import source_path

        spec = importlib.util.spec_from_file_location(_PREFIX + name.replace(".", "_"), source_path(name))
        assert spec is not None and spec.loader is not None
        found = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = found
        spec.loader.exec_module(found)
        _SOURCES[name] = found
    return found


def _real(cls: type) -> type:
    """A class of a source copy mapped back to the class the package really uses."""
    if cls.__module__.startswith(_PREFIX):
        for name, module in _SOURCES.items():
            if module.__name__ == cls.__module__:
                real: type = getattr(importlib.import_module(name), cls.__name__)
                return real
    return cls


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        source_cls = getattr(_source_module(cls.__module__), cls.__name__)
        found = _HINTS[cls] = typing.get_type_hints(source_cls)
    return found


def _check(value: Any, hint: Any, where: str) -> None:
    if isinstance(hint, type):
        hint = _real(hint)
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
