"""The claim as the MS-DRG grouper and the Medicare Code Editor see it.

:class:`ClaimGrouping` turns an inpatient :class:`~cartcode.model.Claim` into a
:class:`~cartcode.grouping.GroupingInput` and keeps, for every code it passes on, the claim value it
came from, so an MCE edit on ``other_dx[2]`` or ``procedures[0]`` points at its segment, JSON path or
FHIR path.

What goes in: the discharge date (else the statement through date), the principal ICD-10-CM diagnosis
with its POA, the other ICD-10-CM diagnoses (admitting and reason-for-visit codes are not discharge
diagnoses), the ICD-10-PCS procedures (the principal first), sex, discharge status (CL103), and the
age at admission from the birth date and the admission date (else the statement from date). PHI: the
birth date is only read here, to compute the age; it never leaves this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container

from cartcode.grouping import Diagnosis as GroupingDiagnosis
from cartcode.grouping import GroupingInput, prepare
from cartcode.model import Claim, Coded, Location


def age_on(born: dt.date | None, day: dt.date | None) -> int | None:
    """Whole years from `born` to `day` (None when either is missing or the birth is after the day)."""
    if born is None or day is None or born > day:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class ClaimGrouping:
    """The grouper's input for one claim and where each of its codes came from."""

    __slots__ = ("codes", "input", "prepared")

    def __init__(self, claim: Claim) -> None:
        principal: Coded | None = None
        principal_poa: str | None = None
        others: list[GroupingDiagnosis] = []
        codes: dict[str, Coded] = {}
        other_index = 0
        for dx in claim.diagnoses:
            if dx.system != "ICD-10-CM":
                continue
            if dx.kind == "principal" and principal is None:
                principal, principal_poa = dx, dx.poa
                codes["principal_dx"] = dx
            elif dx.kind == "other":
                others.append(GroupingDiagnosis(dx.code, dx.poa))
                codes[f"other_dx[{other_index}]"] = dx
                other_index += 1
        procs = [p for p in claim.procedures if p.system == "ICD-10-PCS"]
        procs.sort(key=lambda p: not p.principal)  # stable: the principal first, the others in order
        for i, proc in enumerate(procs):
            codes[f"procedures[{i}]"] = proc
        admitted = claim.admission_date or claim.statement_from
        self.codes = codes
        self.input = GroupingInput(
            discharge_date=claim.discharge_date or claim.statement_to,
            principal_dx=GroupingDiagnosis(principal.code, principal_poa) if principal is not None else None,
            other_dx=others,
            procedures=[p.code for p in procs],
            sex=claim.sex,
            discharge_status=claim.patient_status,
            admission_date=admitted,
            age=age_on(claim.birth_date, admitted),
        )
        self.prepared = prepare(self.input)  # once for the grouper and the MCE

    def coded(self, location: str | None) -> Coded | None:
        """The claim's code behind an MCE location ("principal_dx", "other_dx[2]", "procedures[0]")."""
        return self.codes.get(location) if location is not None else None

    def loc(self, location: str | None) -> Location | None:
        found = self.coded(location)
        return found.loc if found is not None else None


def version_sources(version: str | None, known: Container[str]) -> tuple[str, ...]:
    """The KB source id of a definitions version ("43.1" -> "cms-msdrg-v43-1") when the KB holds it."""
    if not version:
        return ()
    source = "cms-msdrg-v" + version.replace(".", "-")
    return (source,) if source in known else ()
