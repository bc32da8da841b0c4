"""Building claim models without validation, fast.

pydantic's ``model_construct`` inspects the signature of every ``default_factory`` on every call
(pydantic 2.14: ``takes_validated_data_argument`` -> ``inspect.signature``), which costs about
0.3 ms per Claim: more than reading the claim. The readers instead fill the instance dict the
way ``model_construct`` does, from defaults computed once per class. The values are checked by
the readers themselves; a test compares the result with validated models.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, Final, TypeVar, cast

from pydantic import BaseModel

from cartcode import findings, model
from cartcode.model import Claim, ClaimKind, ClaimSource, InputFormat, Location
from cartcode._native import c_module

M = TypeVar("M", bound=BaseModel)

_TEMPLATES: Final[dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]]] = {}
_setattr: Final = object.__setattr__
_new: Final = object.__new__


def _new_model_py(cls: type[Any], values: dict[str, Any], fields_set: set[str]) -> Any:
    """A model instance with `values` as its __dict__ and `fields_set`, unvalidated: what
    ``model_construct`` ends with (and what the C version in cartcode/_modelnew.c does)."""
    obj = _new(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", fields_set)
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


def _new_location_py(
    cls: type[Any],
    fields_set: set[str],
    file: str | None,
    segment: int | None,
    line: int | None,
    loop: str | None,
    segment_id: str | None,
    element: str | None,
    offset: int | None,
) -> Any:
    """An X12 Location (`cls`) from its values, path None (the C version: new_location)."""
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
    return new_model(cls, values, fields_set)


NewModel = Callable[[type[Any], dict[str, Any], set[str]], Any]
NewLocation = Callable[
    [type[Any], set[str], "str | None", "int | None", "int | None", "str | None", "str | None", "str | None",
     "int | None"],
    Any,
]


_C: Final = c_module("cartcode._modelnew")  # the C versions (see cartcode._native); None without them
new_model: Final[NewModel] = cast(NewModel, _C.new_model) if _C is not None else _new_model_py
new_location: Final[NewLocation] = cast(NewLocation, _C.new_location) if _C is not None else _new_location_py


def _plain_attribute_reads(modules: tuple[ModuleType, ...]) -> list[type[BaseModel]]:
    """With the C module: reading an attribute of a claim or finding model skips pydantic's
    ``BaseModel.__getattr__``. Returns the classes changed.

    CPython calls a class's ``__getattr__`` only after the normal lookup failed, but a class that
    has one pays for it on every read (two more type lookups and a slower path): a full claim reads
    about a hundred attributes of these models. For a model with no private attributes and no
    extra fields, pydantic's ``__getattr__`` can only raise ``AttributeError("'Claim' object has no
    attribute 'x'")``, which the normal lookup raises too, with the same message. So for those
    models (all of ours: `extra="forbid"`, no private attributes) nothing changes but the cost;
    a model that ever gains either keeps pydantic's path."""
    changed: list[type[BaseModel]] = []
    if _C is None:
        return changed
    for module in modules:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
                and not value.__private_attributes__
                and value.model_config.get("extra") != "allow"
                and value.__getattr__ is BaseModel.__getattr__  # type: ignore[attr-defined]
            ):
                _C.plain_getattr(value)
                changed.append(value)
    return changed


PLAIN_ATTRIBUTE_READS: Final = _plain_attribute_reads((model, findings))


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
_CLAIM_LISTS: Final = tuple(name for name, factory in _CLAIM_FACTORIES if factory is list)
_CLAIM_DICTS: Final = tuple(name for name, factory in _CLAIM_FACTORIES if factory is dict)
assert len(_CLAIM_LISTS) + len(_CLAIM_DICTS) == len(_CLAIM_FACTORIES)
_MINIMAL_SET: Final = frozenset(("id", "kind", "format", "source"))


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
    # Location is frozen: nothing adds to the fields-set, so one shared set serves every instance
    return new_location(Location, _LOCATION_SET, file, segment, line, loop, segment_id, element, offset)  # type: ignore[no-any-return]


_LOCATION_SET: Final = {"file", "segment", "line", "loop", "segment_id", "element", "offset"}
LOCATION_FIELDS_SET: Final = _LOCATION_SET  # the shared fields set of every X12 Location (never mutated)
