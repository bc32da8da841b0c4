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
    # Optional hospital values for the payment estimate (CONTRACT.md, issue 15); absent: national.
    charges: float | None = None  # total covered charges of the claim, dollars (inpatient outlier)
    wage_index: float | None = None  # the hospital's wage index (IPPS / OPPS)
    operating_ccr: float | None = None  # operating cost-to-charge ratio
    capital_ccr: float | None = None  # capital cost-to-charge ratio
    ime: float | None = None  # IME operating adjustment factor, e.g. 0.0512
    dsh: float | None = None  # empirically justified DSH operating adjustment factor
    uncompensated_care: float | None = None  # uncompensated care payment per discharge, dollars
    gpci: float | None = None  # professional: one GPCI applied to every RVU component

    @field_validator("charges", "wage_index", "operating_ccr", "capital_ccr", "ime", "dsh", "uncompensated_care",
                     "gpci", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        # JSON numbers only (a bool is not a number here); finite and not negative.
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")) or number < 0:
            raise ValueError("expected a finite number, not negative")
        return number

    @field_validator("wage_index", "gpci")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value == 0:
            raise ValueError("expected a positive number")
        return value

    @field_validator("operating_ccr", "capital_ccr")
    @classmethod
    def _ratio(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 10:
            raise ValueError("expected a cost-to-charge ratio above 0 (e.g. 0.25)")
        return value

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
        # The hospital values appear only when given (answers without them keep their shape).
        return self.model_dump(mode="json", exclude={k for k in _HOSPITAL if getattr(self, k) is None})

    def hospital(self) -> dict[str, float]:
        """The hospital values given for the payment estimate."""
        return {k: v for k in _HOSPITAL if (v := getattr(self, k)) is not None}


_HOSPITAL = ("charges", "wage_index", "operating_ccr", "capital_ccr", "ime", "dsh", "uncompensated_care", "gpci")


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
