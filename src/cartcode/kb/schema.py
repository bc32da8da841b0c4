"""Typed rows of the knowledge base. The data lives in the YAML files beside this module."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The labels of ../shared/domain/facts.md, strongest first.
Confidence = Literal["V-primary", "V-secondary", "V-low", "inferred", "unverified"]
CONFIDENCE_RANK: dict[str, int] = {
    "V-primary": 0,
    "V-secondary": 1,
    "V-low": 2,
    "inferred": 3,
    "unverified": 4,
}

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
    as_of: dt.date
    title: str
