"""The facts of a CAR-T encounter that `recommend` turns into codes (CONTRACT.md, "encounter in").

Validation is strict: no coercion of `false` to 0 or of numbers to dates; an unknown key, an
impossible date, an unknown setting, payer or product is an :class:`InputError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from cartcode.errors import InputError
from cartcode.kb.loader import KB
from cartcode.kb.schema import (
    Acquisition,
    ClaimFormName,
    ClinicalTrial,
    EncounterPayer,
    PlaceOfService,
    Product,
    Setting,
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NCT = re.compile(r"^NCT\d{8}$")


class Encounter(BaseModel):
    """Normalised encounter facts. `product` holds the KB product id once resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    setting: Setting
    date: dt.date  # date of service; inpatient: the discharge date
    product: str
    route: str | None = None  # peripheral | central; both options are returned when absent
    payer: EncounterPayer = "medicare"
    clinical_trial: ClinicalTrial = "none"
    product_acquisition: Acquisition = "purchased"
    expanded_access: bool = False
    claim_form: ClaimFormName = "electronic"
    # Extra (not in CONTRACT.md's list; extra keys are welcome):
    place_of_service: PlaceOfService = "facility"  # professional: facility POS or physician office
    nct_number: str | None = None  # the trial's NCT number, for value code D4

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        # ISO strings only: pydantic would otherwise accept numbers as Unix timestamps.
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise ValueError("expected a date as YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"impossible date {value!r}") from exc

    @field_validator("route")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None and value not in ("peripheral", "central"):
            raise ValueError("expected 'peripheral' or 'central' (or leave it out for both)")
        return value

    @field_validator("nct_number")
    @classmethod
    def _nct(cls, value: str | None) -> str | None:
        """Normalised to NCT + 8 digits; the 8 digits alone are accepted too."""
        if value is None:
            return None
        text = value.strip().upper()
        if text.isdigit():
            text = "NCT" + text
        if not _NCT.match(text):
            raise ValueError("expected an NCT number: 'NCT' and 8 digits (or the 8 digits)")
        return text

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _message(exc: ValidationError) -> tuple[str, str]:
    """The first problem as (field, message), in words a coder reads."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(encounter)"
    kind = err["type"]
    if kind == "missing":
        return field, "required field is missing"
    if kind == "extra_forbidden":
        return field, "unknown field"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return field, f"unknown value {err.get('input')!r}; expected one of {expected}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return field, msg


def resolve_product(name: str, kb: KB, where: str = "product") -> Product:
    product = kb.product(name)
    if product is None:
        shown: list[str] = []
        for key in kb.product_close_matches(name):
            match = kb.product(key)
            brand = (match.brand or match.id) if match is not None else key
            label = brand if key == brand.casefold() else f"{key} ({brand})"
            if label not in shown:
                shown.append(label)
        hint = f"; did you mean: {', '.join(shown)}?" if shown else ""
        raise InputError(f"unknown product {name!r}{hint}", where=where)
    return product


def parse_encounter(data: Mapping[str, Any], kb: KB, *, origin: str | None = None) -> Encounter:
    """Validate raw encounter facts (JSON object, flags) and resolve the product by name.

    `origin` names the input (a file name) for the error message."""
    if not isinstance(data, Mapping):
        raise InputError("the encounter must be a JSON object", where=origin)
    raw = {k: v for k, v in data.items() if v is not None}
    try:
        enc = Encounter.model_validate(raw)
    except ValidationError as exc:
        field, msg = _message(exc)
        where = f"{origin}: $.{field}" if origin else field
        raise InputError(msg, where=where) from None
    product = resolve_product(enc.product, kb, where=f"{origin}: $.product" if origin else "product")
    return enc.model_copy(update={"product": product.id})
