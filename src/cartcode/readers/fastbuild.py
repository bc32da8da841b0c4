"""Building claim models without validation, fast.

pydantic's ``model_construct`` inspects the signature of every ``default_factory`` on every call
(pydantic 2.14: ``takes_validated_data_argument`` -> ``inspect.signature``), which costs about
0.3 ms per Claim: more than reading the claim. The readers instead fill the instance dict the
way ``model_construct`` does, from defaults computed once per class. The values are checked by
the readers themselves; a test compares the result with validated models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from cartcode.model import Claim, ClaimKind, ClaimSource, InputFormat, Location

M = TypeVar("M", bound=BaseModel)

_TEMPLATES: dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]] = {}
_setattr = object.__setattr__
_new = object.__new__


def _new_model_py(cls: type[Any], values: dict[str, Any], fields_set: set[str]) -> Any:
    """A model instance with `values` as its __dict__ and `fields_set`, unvalidated: what
    ``model_construct`` ends with (and what the C version in cartcode/_modelnew.c does)."""
    obj = _new(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", fields_set)
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


NewModel = Callable[[type[Any], dict[str, Any], set[str]], Any]


def _c_new_model() -> NewModel | None:
    """The C version, built by scripts/build_native.py (importable only while it matches its
    source: see cartcode.native)."""
    try:
        module = importlib.import_module("cartcode._modelnew")
    except ImportError:
        return None
    return cast(NewModel, module.new_model)


new_model: NewModel = _c_new_model() or _new_model_py


def _template(cls: type[BaseModel]) -> tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]:
    found = _TEMPLATES.get(cls)
    if found is None:
        plain: dict[str, Any] = {}
        factories: list[tuple[str, Callable[[], Any]]] = []
        for name, info in cls.model_fields.items():
            if info.default_factory is not None:
                factories.append((name, info.default_factory))  # type: ignore[arg-type]
            elif not info.is_required():
                plain[name] = info.default
        found = _TEMPLATES[cls] = (plain, factories)
    return found


def construct(cls: type[M], **values: Any) -> M:
    """``cls.model_construct(**values)`` without its per-call cost (no validation either)."""
    return construct_from(cls, values)


def construct_from(cls: type[M], values: dict[str, Any]) -> M:
    """:func:`construct` from a dict of values (no keyword packing; `values` is not kept)."""
    found = _TEMPLATES.get(cls)
    plain, factories = found if found is not None else _template(cls)
    data = plain.copy()
    for name, factory in factories:
        if name not in values:
            data[name] = factory()
    data.update(values)
    return new_model(cls, data, set(values))  # type: ignore[no-any-return]


_CLAIM_DEFAULTS, _CLAIM_FACTORIES = _template(Claim)
_CLAIM_LISTS = tuple(name for name, factory in _CLAIM_FACTORIES if factory is list)
_CLAIM_DICTS = tuple(name for name, factory in _CLAIM_FACTORIES if factory is dict)
assert len(_CLAIM_LISTS) + len(_CLAIM_DICTS) == len(_CLAIM_FACTORIES)
_MINIMAL_SET = frozenset(("id", "kind", "format", "source"))


def minimal_claim(claim_id: str, kind: ClaimKind, fmt: InputFormat, file: str, index: int) -> Claim:
    """A Claim with only id, kind, format and source: what a prefiltered-out claim costs.

    The hot path of a batch of mostly non-CAR-T claims, hence specialised: about 1 µs."""
    source = new_model(ClaimSource, {"file": file, "index": index}, {"file", "index"})
    data = _CLAIM_DEFAULTS.copy()
    for name in _CLAIM_LISTS:
        data[name] = []
    for name in _CLAIM_DICTS:
        data[name] = {}
    data["id"] = claim_id
    data["kind"] = kind
    data["format"] = fmt
    data["source"] = source
    return new_model(Claim, data, set(_MINIMAL_SET))  # type: ignore[no-any-return]


def location(
    file: str | None,
    segment: int | None,
    line: int | None,
    loop: str | None,
    segment_id: str | None,
    element: str | None,
    offset: int | None,
) -> Location:
    """An X12 Location, built directly (the readers' most frequent object)."""
    values = {
        "file": file,
        "path": None,
        "segment": segment,
        "line": line,
        "loop": loop,
        "segment_id": segment_id,
        "element": element,
        "offset": offset,
    }
    # Location is frozen: nothing adds to the fields-set, so one shared set serves every instance
    return new_model(Location, values, _LOCATION_SET)  # type: ignore[no-any-return]


_LOCATION_SET = {"file", "segment", "line", "loop", "segment_id", "element", "offset"}
LOCATION_FIELDS_SET = _LOCATION_SET  # the shared fields set of every X12 Location (never mutated)
