"""The REST API's request and response shapes (OpenAPI components).

Request bodies are strict: FastAPI validates the decoded JSON in pydantic's *python* mode, where
strict mode rejects an ISO date string, and lax mode turns ``1`` into ``True`` and ``20250601``
into a date. So every field is strict, and dates go through :data:`IsoDate`, which accepts a
``YYYY-MM-DD`` string and nothing else.

Response models describe the contract (CONTRACT.md) for the OpenAPI document; the routes return
the answer's own ``to_json()`` so the output stays byte-for-byte what the CLI prints. They allow
extra keys, as the contract does, and schemathesis checks every response against them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from cartcode.model import Setting

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: object) -> dt.date:
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("not a calendar date (YYYY-MM-DD)") from exc
    raise ValueError("expected a date string YYYY-MM-DD")


# Runs before the strict date check: only a real YYYY-MM-DD string becomes a date.
IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _ISO_DATE.pattern}),
]

Route = Literal["peripheral", "central"]
PayerIn = Literal["medicare", "medicare-advantage", "medicaid", "commercial"]
Trial = Literal["none", "this-product", "different-product"]
Acquisition = Literal["purchased", "no-cost"]
Form = Literal["electronic", "paper"]
PlaceOfService = Literal["facility", "office"]


class Encounter(BaseModel):
    """The contract's encounter (CONTRACT.md, "recommend: encounter in")."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"setting": "inpatient", "date": "2025-06-01", "product": "Breyanzi", "route": "central",
                 "payer": "medicare"}
            ]
        },
    )

    setting: Setting
    date: IsoDate = Field(description="Date of service; inpatient: the discharge date.")
    product: str = Field(
        min_length=1, max_length=100, pattern=r"\S",
        description="Generic or brand name, product HCPCS code, `autologous` or `allogeneic` (any case).",
    )
    route: Route | None = Field(default=None, description="Absent: both options are returned.")
    payer: PayerIn | None = None
    clinical_trial: Trial | None = None
    product_acquisition: Acquisition | None = None
    expanded_access: bool | None = None
    claim_form: Form | None = None
    # Beyond the contract's list (cartcode.recommender._encounter.Encounter accepts them too):
    place_of_service: PlaceOfService | None = Field(
        default=None, description="Professional claims: a facility place of service or the physician's office."
    )
    nct_number: str | None = Field(
        default=None, pattern=r"^[Nn][Cc][Tt][0-9]{8}$", description="The trial's NCT number (value code D4)."
    )
    # The payment estimate's optional hospital values (CONTRACT.md, issue 15); absent: national.
    charges: float | None = Field(default=None, ge=0, description="Total covered charges, dollars.")
    wage_index: float | None = Field(default=None, gt=0, description="The hospital's wage index.")
    operating_ccr: float | None = Field(default=None, gt=0, le=10, description="Operating cost-to-charge ratio.")
    capital_ccr: float | None = Field(default=None, gt=0, le=10, description="Capital cost-to-charge ratio.")
    ime: float | None = Field(default=None, ge=0, description="IME operating adjustment factor.")
    dsh: float | None = Field(default=None, ge=0, description="DSH operating adjustment factor.")
    uncompensated_care: float | None = Field(default=None, ge=0, description="Uncompensated care, $ per discharge.")
    gpci: float | None = Field(default=None, gt=0, description="Professional: one GPCI for every RVU.")

    def to_mapping(self) -> dict[str, Any]:
        """What recommend() receives: only the keys the caller set (recommend owns the defaults)."""
        data = self.model_dump(mode="json", exclude_none=True)
        return data


# ------------------------------------------------------------------------------------- answers
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class KbStamp(_Open):
    edition: str
    as_of: dt.date


class RecommendCode(_Open):
    system: str
    code: str
    description: str
    use: str | None = None
    sources: list[str]
    confidence: str | None = None


class PaymentItem(_Open):
    system: str
    code: str
    description: str
    sources: list[str]


class WarningItem(_Open):
    message: str
    sources: list[str] = Field(default_factory=list)


class RecommendAnswer(_Open):
    """The contract's recommend answer."""

    kb: KbStamp
    encounter: dict[str, Any]
    codes: list[RecommendCode]
    payment: list[PaymentItem]
    warnings: list[WarningItem]


class CodeRef(_Open):
    system: str
    code: str


class Fix(_Open):
    remove: list[CodeRef] = Field(default_factory=list)
    add: list[CodeRef] = Field(default_factory=list)
    safe: bool


class Finding(_Open):
    rule: str
    name: str
    severity: Literal["error", "warning", "info"]
    message: str
    location: dict[str, Any]
    codes: list[CodeRef] = Field(default_factory=list)
    fix: Fix | None = Field(default=None, description="Absent when there is no fix.")
    sources: list[str]


class ClaimSource(_Open):
    file: str
    index: int


class Grouping(_Open):
    """The MS-DRG of an inpatient claim (CONTRACT.md, issue 11); status and reason when not grouped."""

    drg: str | None
    title: str | None
    mdc: str | None
    version: str | None
    grouper: str | None
    status: Literal["no_version", "missing_data", "ungroupable", "unavailable"] | None = None
    reason: str | None = None


class ClaimResult(_Open):
    id: str | None
    source: ClaimSource
    status: Literal["checked", "failed"]
    error: str | None
    grouping: Grouping | None = None
    estimate: dict[str, Any] | None = Field(
        default=None, description="Inpatient claims once grouped, and outpatient / professional claims that "
        "bill the CAR-T administration code: the Medicare payment estimate (issue 15), "
        "the shape of recommend's `estimate` (check-report.schema.json).")
    findings: list[Finding]


class CheckReport(_Open):
    """The contract's check answer."""

    kb: KbStamp
    claims: list[ClaimResult]


# ------------------------------------------------------------------------------ reference data
class Source(_Open):
    id: str
    title: str
    publisher: str
    kind: str
    date: str | None = None
    address: str | None = None
    note: str | None = None


class Product(_Open):
    id: str
    generic: str | None = None
    brand: str | None = None
    cell_kind: str


class KbInfo(_Open):
    edition: str
    as_of: dt.date
    title: str
    sources: list[Source]
    products: list[Product]


class ProductName(_Open):
    name: str
    kind: str  # brand | generic | alias | hcpcs | id
    product: str
    brand: str | None = None
    generic: str | None = None


class ProductNames(_Open):
    kb: KbStamp
    names: list[ProductName]


class PaymentStatus(_Open):
    kind: str
    value: str
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    sources: list[str]
    confidence: str


class CodePeriod(_Open):
    system: str
    code: str
    description: str
    effective_from: dt.date | None
    effective_to: dt.date | None
    sources: list[str]
    confidence: str
    statuses: list[PaymentStatus] = Field(default_factory=list)


class CodeInfo(_Open):
    """Every period the KB holds for a code, in every system that uses the string, with its sources."""

    code: str
    kb: KbStamp
    rows: list[CodePeriod] = Field(min_length=1)
    sources: dict[str, Source]


class RuleSummary(_Open):
    id: str
    name: str
    severity: str | None = None
    summary: str | None = None


class RuleCatalogue(_Open):
    kb: KbStamp
    rules: list[RuleSummary]


class RuleExample(_Open):
    name: str
    claim: dict[str, Any] | list[Any] | str | None = None
    expect: list[dict[str, Any]] = Field(default_factory=list, description="Empty: a good claim, no finding.")


class RuleDoc(_Open):
    id: str
    name: str
    doc: str | None = None
    examples: list[RuleExample] = Field(default_factory=list, description="The rule's good and bad cases.")


class Health(_Open):
    status: Literal["ok"]
    kb: KbStamp


# ------------------------------------------------------------------------------------ errors
class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loc: list[str | int] = Field(description="Where in the request, e.g. [\"body\", \"date\"].")
    msg: str
    type: str


ErrorKind = Literal[
    "malformed", "unauthorized", "not-found", "method-not-allowed", "too-large", "schema", "input", "internal",
    "error", "timeout", "busy",
]
_KIND_BY_STATUS: dict[int, ErrorKind] = {
    400: "malformed", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed", 408: "timeout",
    413: "too-large", 422: "schema", 500: "internal", 503: "busy",
}


def error_kind(status: int) -> ErrorKind:
    return _KIND_BY_STATUS.get(status, "error")


class Error(BaseModel):
    """Every error response. Never echoes the request's values (they may be claim content)."""

    model_config = ConfigDict(extra="forbid")

    status: int
    kind: ErrorKind = Field(
        description="422 comes in two kinds: `schema` (the request breaks the OpenAPI schema) and `input` "
        "(well-formed, but the facts are refused, e.g. no CAR-T code is valid on that date, or the "
        "claim file cannot be read)."
    )
    error: str
    details: list[ErrorDetail] = Field(default_factory=list)
