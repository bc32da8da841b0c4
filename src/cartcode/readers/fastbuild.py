"""Building claim models without validation, fast.

pydantic's ``model_construct`` inspects the signature of every ``default_factory`` on every call
(pydantic 2.14: ``takes_validated_data_argument`` -> ``inspect.signature``), which costs about
0.3 ms per Claim: more than reading the claim. The readers instead fill the instance dict the
way ``model_construct`` does, from defaults computed once per class. The values are checked by
the readers themselves; a test compares the result with validated models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from cartcode.model import Claim, ClaimKind, ClaimSource, InputFormat, Location

M = TypeVar("M", bound=BaseModel)

_TEMPLATES: dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]] = {}
_setattr = object.__setattr__
_new = object.__new__


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
    obj = _new(cls)
    _setattr(obj, "__dict__", data)
    _setattr(obj, "__pydantic_fields_set__", set(values))
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


_CLAIM_DEFAULTS, _CLAIM_FACTORIES = _template(Claim)
_CLAIM_LISTS = tuple(name for name, factory in _CLAIM_FACTORIES if factory is list)
_CLAIM_DICTS = tuple(name for name, factory in _CLAIM_FACTORIES if factory is dict)
assert len(_CLAIM_LISTS) + len(_CLAIM_DICTS) == len(_CLAIM_FACTORIES)
_MINIMAL_SET = frozenset(("id", "kind", "format", "source"))


def minimal_claim(claim_id: str, kind: ClaimKind, fmt: InputFormat, file: str, index: int) -> Claim:
    """A Claim with only id, kind, format and source: what a prefiltered-out claim costs.

    The hot path of a batch of mostly non-CAR-T claims, hence specialised: about 1 µs."""
    source = ClaimSource.__new__(ClaimSource)
    _setattr(source, "__dict__", {"file": file, "index": index})
    _setattr(source, "__pydantic_fields_set__", {"file", "index"})
    _setattr(source, "__pydantic_extra__", None)
    _setattr(source, "__pydantic_private__", None)
    data = _CLAIM_DEFAULTS.copy()
    for name in _CLAIM_LISTS:
        data[name] = []
    for name in _CLAIM_DICTS:
        data[name] = {}
    data["id"] = claim_id
    data["kind"] = kind
    data["format"] = fmt
    data["source"] = source
    obj = Claim.__new__(Claim)
    _setattr(obj, "__dict__", data)
    _setattr(obj, "__pydantic_fields_set__", set(_MINIMAL_SET))
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


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
    obj = Location.__new__(Location)
    _setattr(
        obj,
        "__dict__",
        {
            "file": file,
            "path": None,
            "segment": segment,
            "line": line,
            "loop": loop,
            "segment_id": segment_id,
            "element": element,
            "offset": offset,
        },
    )
    # Location is frozen: nothing adds to the fields-set, so one shared set serves every instance
    _setattr(obj, "__pydantic_fields_set__", _LOCATION_SET)
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


_LOCATION_SET = {"file", "segment", "line", "loop", "segment_id", "element", "offset"}
LOCATION_FIELDS_SET = _LOCATION_SET  # the shared fields set of every X12 Location (never mutated)
