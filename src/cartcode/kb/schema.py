"""Typed rows of the knowledge base. The data lives in the YAML files beside this module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cartcode.model import Setting as Setting  # the KB's decisions speak of the claim's setting

# The labels of ../shared/domain/facts.md, strongest first.
Confidence = Literal["V-primary", "V-secondary", "V-low", "inferred", "unverified"]
CONFIDENCE_RANK: dict[str, int] = {
    "V-primary": 0,
    "V-secondary": 1,
    "V-low": 2,
    "inferred": 3,
    "unverified": 4,
}


def merge_ids(*groups: Iterable[str]) -> list[str]:
    """Source (or decision) ids of several rows as one list: first-seen order, no repeats."""
    out: list[str] = []
    for group in groups:
        for item in group:
            if item not in out:
                out.append(item)
    return out

System = Literal[
    "ICD-10-PCS",
    "ICD-10-CM",
    "CPT",
    "HCPCS",
    "revenue",
    "modifier",
    "condition",
    "value",
    "occurrence",
    "MS-DRG",
    "APC",
    "note",
]
SYSTEMS: tuple[str, ...] = System.__args__  # type: ignore[attr-defined]

SourceKind = Literal[
    "coding-guide", "cms", "mac", "fda", "federal-register", "nubc", "payer", "society",
    "manufacturer", "secondary", "aggregator", "research-code-list",
]


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Source(Row):
    id: str
    title: str
    publisher: str
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD as the source dates itself
    address: str | None = None
    kind: SourceKind
    note: str | None = None


class Dated(Row):
    """Anything effective-dated. Periods are inclusive: effective_to is the last valid day."""

    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    sources: list[str] = Field(min_length=1)
    confidence: Confidence
    date_confidence: Confidence | None = None  # when the dates are weaker than the value

    def valid_on(self, day: dt.date) -> bool:
        if self.effective_from is not None and day < self.effective_from:
            return False
        return not (self.effective_to is not None and day > self.effective_to)


class Status(Dated):
    """A payment status of a code in one period: OPPS status indicator, APC, MPFS status."""

    kind: Literal["OPPS-SI", "APC", "MPFS"]
    value: str
    description: str | None = None


class CodeRow(Dated):
    system: System
    code: str
    description: str
    role: str | None = None  # admin, collection, processing, receipt, product, unlisted, ...
    product: str | None = None  # products.yaml id, when the code names one product
    cell_kind: Literal["autologous", "allogeneic"] | None = None
    route: Literal["peripheral", "central"] | None = None  # ICD-10-PCS body part 3 / 4
    nt_group: int | None = None  # ICD-10-PCS section X new technology group
    predecessors: list[str] = Field(default_factory=list)
    successors: list[str] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    # When the descriptor text rests on weaker evidence than the code itself (e.g. a Q-code whose
    # product link is V-secondary but whose long descriptor was seen only on an aggregator).
    description_confidence: Confidence | None = None
    note: str | None = None


class Product(Row):
    id: str
    generic: str | None = None
    brand: str | None = None
    aliases: list[str] = Field(default_factory=list)
    cell_kind: Literal["autologous", "allogeneic"]
    target: str | None = None
    fda_approval: dt.date | None = None
    sources: list[str] = Field(min_length=1)
    confidence: Confidence


class Policy(Dated):
    """A dated fact rules and recommend act on (e.g. the KX/REMS period, CC 90 start date)."""

    id: str
    description: str
    value: str | float | int | bool | None = None
    note: str | None = None


class Manifest(Row):
    edition: str
    as_of: dt.date  # sources reviewed through this date (review_log.yaml), not the newest fact held
    title: str
    previous_edition: str | None = None  # the edition this one replaces (for `kb diff`)


ReviewOutcome = Literal["found", "partly-found", "not-found"]


class ReviewEntry(Row):
    """One topic searched in a KB review: when, what was looked for, what was found (source ids)
    or not found. `found` rows cite at least one source; `not-found` rows may cite none."""

    topic: str  # a stable id, e.g. "ipps-fy2026-final-drg018"
    title: str
    searched: dt.date
    queries: list[str] = Field(min_length=1)  # what was searched (corpora and keywords)
    outcome: ReviewOutcome
    found: list[str] = Field(default_factory=list)  # what was learned, one fact a line
    not_found: list[str] = Field(default_factory=list)  # what was looked for and not found
    sources: list[str] = Field(default_factory=list)  # sources.yaml ids behind `found`
    # the KB rows the topic added or changed: "codes:HCPCS:Q2042", "policies:<id>", "decisions:<id>"
    kb_rows: list[str] = Field(default_factory=list)
    issue: str | None = None  # the issue that asked for the review


# ------------------------------------------------------------------------------------------------
# Decision data for `recommend` (decisions.yaml). Facts are rows; recommend.py only interprets them.

EncounterPayer = Literal["medicare", "medicare-advantage", "medicaid", "commercial"]
ClinicalTrial = Literal["none", "this-product", "different-product"]
Acquisition = Literal["purchased", "no-cost"]
ClaimFormName = Literal["electronic", "paper"]
PlaceOfService = Literal["facility", "office"]
CellKind = Literal["autologous", "allogeneic"]

# Named look-ups recommend.py knows how to resolve against the KB on the encounter's date.
Selector = Literal[
    "pcs-admin",  # ICD-10-PCS administration code(s) for the product and route(s)
    "admin-cpt",  # CPT administration code for autologous CAR-T valid on the date
    "admin-status",  # a payment status (param: OPPS-SI / APC / MPFS) of the selected admin CPT code
    "product-hcpcs",  # the product's own HCPCS Level II code(s)
    "prep-cpt",  # CPT collection / processing / receipt code (param: role) valid on the date
    "prep-status",  # a payment status (param) of the prep CPT code (param role in `role`)
    "drg",  # the MS-DRG CAR-T administration groups to on the discharge date
]


class When(Row):
    """Conditions on the encounter; every key set must hold (lists: any of)."""

    setting: list[Setting] | None = None
    cell_kind: list[CellKind] | None = None
    product: list[str] | None = None  # products.yaml ids
    product_coded: bool | None = None  # a named product (not the generic autologous/allogeneic kinds)
    payer: list[EncounterPayer] | None = None
    clinical_trial: list[ClinicalTrial] | None = None
    product_acquisition: list[Acquisition] | None = None
    expanded_access: bool | None = None
    claim_form: list[ClaimFormName] | None = None
    place_of_service: list[PlaceOfService] | None = None
    policy_on: list[str] = Field(default_factory=list)  # policies with a truthy value on the date
    policy_off: list[str] = Field(default_factory=list)  # policies absent or falsy on the date
    policy_false: list[str] = Field(default_factory=list)  # policies with a row on the date whose value is falsy
    any_of: list[When] | None = None  # at least one of these nested conditions holds


When.model_rebuild()


class Emit(Row):
    """One item a decision adds to the answer: a code (literal or selected), a payment fact,
    a note or a warning. `use` is the text: what the code is for, or the message."""

    to: Literal["codes", "payment", "notes", "warnings"]
    system: System | None = None
    code: str | None = None
    select: Selector | None = None
    param: str | None = None  # the selector's parameter (status kind, prep role)
    role: str | None = None
    use: str
    where: str | dict[str, str] | None = None  # by claim form: {electronic: ..., paper: ...}
    line: str | None = None  # groups codes that share a service line (admin, product, ...)
    units: str | None = None
    amount: str | None = None
    optional: bool = False
    kind: str | None = None  # payment: grouping / payment-adjustment / status / payer-derived; warning kind
    adjusted: bool | None = None  # payment-adjustment: whether the MS-DRG 018 adjustment applies
    sources: list[str] = Field(default_factory=list)  # extra sources for this item
    confidence: Confidence | None = None  # when the item is weaker than its decision


class Decision(Dated):
    id: str
    description: str
    when: When = Field(default_factory=When)
    emit: list[Emit] = Field(min_length=1)


class GenericUse(Dated):
    """A named product coded with the generic autologous code in a period (no own code yet)."""

    product: str
    system: System
    note: str | None = None


# ------------------------------------------------------------------------------------------------
# Payment rates (payment_rates.yaml): one table per fiscal year (IPPS) or calendar year (OPPS, PFS),
# each rate with its own sources and label. A rate that was looked for and not found is listed under
# the table's `not_found` so the estimate can say what is missing and why, never invent it.

RateSystem = Literal["IPPS", "OPPS", "PFS"]
RateName = Literal[
    "labor-share",  # IPPS/OPPS: labor-related share of the standardized amount (wage index > 1)
    "labor-share-wage-index-at-most-1",  # IPPS: labor share for hospitals with a wage index <= 1
    "operating-standardized-amount",  # IPPS: national operating standardized amount (labor + non-labor)
    "drg-weight",  # IPPS: MS-DRG relative weight (field drg)
    "drg-national-operating-payment",  # IPPS: published national operating payment of an MS-DRG (drg)
    "capital-federal-rate",  # IPPS: capital standard federal payment rate
    "fixed-loss-threshold",  # IPPS: fixed-loss cost outlier threshold
    "marginal-cost-factor",  # IPPS: share of costs above the outlier threshold paid
    "trial-adjustor",  # IPPS: MS-DRG 018 clinical-trial / expanded-access / no-cost-product factor
    "ntap-maximum",  # IPPS: maximum new technology add-on payment of a product (field product)
    "apc-payment-rate",  # OPPS: national unadjusted payment rate of an APC (field apc)
    "asp-payment-limit",  # OPPS/PFS: ASP payment limit of a product HCPCS code for a quarter (product)
    "conversion-factor",  # PFS: conversion factor (non-qualifying APM participants)
    "conversion-factor-qp",  # PFS: conversion factor for qualifying APM participants
    "work-rvu",  # PFS: work RVU of a code (field code)
    "pe-rvu-facility",  # PFS: facility practice expense RVU (code)
    "pe-rvu-nonfacility",  # PFS: non-facility (office) practice expense RVU (code)
    "mp-rvu",  # PFS: malpractice RVU (code)
]
RATE_NAMES: tuple[str, ...] = RateName.__args__  # type: ignore[attr-defined]


class Rate(Row):
    """One number of a rate table. `value` is a decimal string (money in dollars, ratios as
    fractions), kept as text so no binary float ever touches a payment."""

    name: RateName
    value: str
    drg: str | None = None
    apc: str | None = None
    code: str | None = None
    product: str | None = None  # products.yaml id
    sources: list[str] = Field(min_length=1)
    confidence: Confidence
    note: str | None = None


class MissingRate(Row):
    """A rate looked for and not found: the estimate names it (and why) instead of guessing."""

    name: RateName
    drg: str | None = None
    apc: str | None = None
    code: str | None = None
    product: str | None = None
    note: str
    sources: list[str] = Field(default_factory=list)


class RateTable(Row):
    """The rates of one payment system for one fiscal (IPPS) or calendar (OPPS, PFS) year."""

    id: str
    system: RateSystem
    year: str  # FY2026 (IPPS) or CY2026 (OPPS, PFS)
    title: str
    effective_from: dt.date
    effective_to: dt.date
    sources: list[str] = Field(min_length=1)  # the rule (Federal Register) or CMS file of the year
    rates: list[Rate] = Field(default_factory=list)
    not_found: list[MissingRate] = Field(default_factory=list)
    note: str | None = None

    def valid_on(self, day: dt.date) -> bool:
        return self.effective_from <= day <= self.effective_to
