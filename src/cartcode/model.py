"""The one internal claim model.

Every reader (our JSON, X12 837I/837P, FHIR) turns its input into :class:`Claim`. Every value
that a rule may point at keeps a :class:`Location` saying where in the input it came from, so a
finding can name the segment, loop or JSON path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Final, Literal

ClaimKind = Literal["institutional", "professional"]
Payer = Literal["medicare", "medicare-advantage", "medicaid", "commercial", "other"]
ClaimForm = Literal["electronic", "paper"]
InputFormat = Literal["json", "x12", "fhir"]
Setting = Literal["inpatient", "outpatient", "professional"]  # the one definition: the claim type

# The classes are slots dataclasses with a hand-written keyword-only __init__: mypyc compiles
# them to native classes and compiles that __init__ (the one dataclasses generates runs as
# interpreted Python, about twice the cost per object). Nothing validates on construction: the
# readers check every value before they build a model. `Final` fields are read-only (enforced
# by mypy, and at run time when compiled).


@dataclass(slots=True)
class Location:
    """Where a value came from. Only the keys that apply are set (:meth:`as_dict` leaves out the
    others). Read-only and hashable."""

    file: Final[str | None]
    path: Final[str | None]  # JSON path ("$.claims[0].lines[1].code") or FHIR path ("item[0].productOrService")
    segment: Final[int | None]  # X12: 1-based ordinal of the segment in the file
    line: Final[int | None]  # 1-based text line, where the input has lines
    loop: Final[str | None]  # X12 loop id, e.g. "2300", "2400"
    segment_id: Final[str | None]  # X12 segment tag, e.g. "SV2"
    element: Final[str | None]  # X12 element reference, e.g. "SV202-2", "HI01-2"
    offset: Final[int | None]  # byte offset of the segment (X12) for writers

    def __init__(
        self,
        *,
        file: str | None = None,
        path: str | None = None,
        segment: int | None = None,
        line: int | None = None,
        loop: str | None = None,
        segment_id: str | None = None,
        element: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.file = file
        self.path = path
        self.segment = segment
        self.line = line
        self.loop = loop
        self.segment_id = segment_id
        self.element = element
        self.offset = offset

    def __hash__(self) -> int:
        return hash((self.file, self.path, self.segment, self.line, self.loop, self.segment_id, self.element,
                     self.offset))

    def as_dict(self) -> dict[str, object]:
        """The fields that are set (not None), in field order: a finding's `location`."""
        out: dict[str, object] = {}
        if self.file is not None:
            out["file"] = self.file
        if self.path is not None:
            out["path"] = self.path
        if self.segment is not None:
            out["segment"] = self.segment
        if self.line is not None:
            out["line"] = self.line
        if self.loop is not None:
            out["loop"] = self.loop
        if self.segment_id is not None:
            out["segment_id"] = self.segment_id
        if self.element is not None:
            out["element"] = self.element
        if self.offset is not None:
            out["offset"] = self.offset
        return out


@dataclass(slots=True)
class Coded:
    """A code in a code system (see CONTRACT.md for the system names), with its origin."""

    system: str
    code: str
    loc: Location | None

    def __init__(self, *, system: str, code: str, loc: Location | None = None) -> None:
        self.system = system
        self.code = code
        self.loc = loc


DiagnosisKind = Literal["principal", "admitting", "reason", "other"]


@dataclass(slots=True)
class Diagnosis(Coded):
    kind: DiagnosisKind
    poa: str | None

    def __init__(
        self, *, system: str, code: str, loc: Location | None = None, kind: DiagnosisKind = "other",
        poa: str | None = None,
    ) -> None:
        self.system = system
        self.code = code
        self.loc = loc
        self.kind = kind
        self.poa = poa


@dataclass(slots=True)
class Procedure(Coded):
    """An ICD-10-PCS procedure on an institutional claim."""

    date: dt.date | None
    principal: bool

    def __init__(
        self, *, system: str, code: str, loc: Location | None = None, date: dt.date | None = None,
        principal: bool = False,
    ) -> None:
        self.system = system
        self.code = code
        self.loc = loc
        self.date = date
        self.principal = principal


@dataclass(slots=True)
class ValueCode(Coded):
    amount: str | None  # money amount, or text such as the NCT number for D4

    def __init__(self, *, system: str, code: str, loc: Location | None = None, amount: str | None = None) -> None:
        self.system = system
        self.code = code
        self.loc = loc
        self.amount = amount


@dataclass(slots=True)
class OccurrenceCode(Coded):
    date: dt.date | None

    def __init__(self, *, system: str, code: str, loc: Location | None = None, date: dt.date | None = None) -> None:
        self.system = system
        self.code = code
        self.loc = loc
        self.date = date


@dataclass(slots=True)
class Note:
    """A billing note: 837I/837P NTE (NTE01 reference code, NTE02 text), or paper FL 80 remark."""

    text: str
    reference: str | None  # NTE01, e.g. "ADD"
    loc: Location | None

    def __init__(self, *, text: str, reference: str | None = None, loc: Location | None = None) -> None:
        self.text = text
        self.reference = reference
        self.loc = loc


@dataclass(slots=True)
class Line:
    """A service line (837 loop 2400, our JSON `lines[]`, FHIR `item[]`)."""

    number: int  # 1-based line number within the claim
    revenue_code: Coded | None
    procedure: Coded | None  # system CPT or HCPCS
    modifiers: list[Coded]
    units: Decimal | None
    charge: Decimal | None
    date: dt.date | None
    ndc: str | None
    place_of_service: str | None
    diagnosis_pointers: list[int]
    notes: list[Note]
    loc: Location | None
    locs: dict[str, Location]  # units, charge, date -> origin

    def __init__(
        self,
        *,
        number: int,
        revenue_code: Coded | None = None,
        procedure: Coded | None = None,
        modifiers: list[Coded] | None = None,
        units: Decimal | None = None,
        charge: Decimal | None = None,
        date: dt.date | None = None,
        ndc: str | None = None,
        place_of_service: str | None = None,
        diagnosis_pointers: list[int] | None = None,
        notes: list[Note] | None = None,
        loc: Location | None = None,
        locs: dict[str, Location] | None = None,
    ) -> None:
        self.number = number
        self.revenue_code = revenue_code
        self.procedure = procedure
        self.modifiers = modifiers if modifiers is not None else []
        self.units = units
        self.charge = charge
        self.date = date
        self.ndc = ndc
        self.place_of_service = place_of_service
        self.diagnosis_pointers = diagnosis_pointers if diagnosis_pointers is not None else []
        self.notes = notes if notes is not None else []
        self.loc = loc
        self.locs = locs if locs is not None else {}

    def modifier_codes(self) -> list[str]:
        return [m.code for m in self.modifiers]


NoteSeverity = Literal["error", "warning", "info"]


@dataclass(slots=True)
class InputNote:
    """Something a reader noticed that does not stop the claim from being read (a GS08/ST03
    mismatch, a wrong SE/GE/IEA count, a non-fixed-width ISA, a bad segment identifier, a FHIR
    placeholder value the strict model rejects). Check reports each as a finding."""

    rule: str  # e.g. "X12-ENVELOPE", "X12-SEGMENT", "FHIR-MODEL"
    severity: NoteSeverity
    message: str
    loc: Location | None

    def __init__(
        self, *, rule: str, message: str, severity: NoteSeverity = "warning", loc: Location | None = None
    ) -> None:
        self.rule = rule
        self.severity = severity
        self.message = message
        self.loc = loc


@dataclass(slots=True)
class ClaimSource:
    file: str
    index: int  # 0-based position of the claim in the file

    def __init__(self, *, file: str, index: int) -> None:
        self.file = file
        self.index = index

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "index": self.index}


@dataclass(slots=True)
class Claim:
    """An institutional (UB-04 / 837I) or professional (CMS-1500 / 837P) claim.

    A claim the X12 reader's pre-filter cleared (no CAR-T code in its bytes) is built with only
    id, kind, format and source: its `loc` stays None (a claim read in full has its CLM's)."""

    id: str
    kind: ClaimKind
    format: InputFormat
    source: ClaimSource
    claim_form: ClaimForm
    type_of_bill: str | None  # 3 characters, e.g. "111", "131" (no leading zero)
    place_of_service: str | None  # professional, e.g. "11", "22"
    statement_from: dt.date | None
    statement_to: dt.date | None
    admission_date: dt.date | None
    discharge_date: dt.date | None
    payer: Payer | None
    filing_indicator: str | None  # SBR09: MA, MB, MC, CI, 16, ...
    medicare_part: Literal["A", "B"] | None
    total_charge: Decimal | None
    diagnoses: list[Diagnosis]
    procedures: list[Procedure]
    condition_codes: list[Coded]
    value_codes: list[ValueCode]
    occurrence_codes: list[OccurrenceCode]
    notes: list[Note]
    lines: list[Line]
    drg: Coded | None
    admission_type: str | None  # 837I CL101 / UB-04 FL 14
    admission_source: str | None  # 837I CL102 / UB-04 FL 15
    patient_status: str | None  # 837I CL103 / UB-04 FL 17 (discharge status)
    sex: str | None  # the patient's: "M", "F" or "U" (837 DMG03, FHIR Patient.gender, our JSON `sex`)
    birth_date: dt.date | None  # PHI: only ever used to compute the age; never in findings or messages
    input_notes: list[InputNote]  # reader warnings, reported as findings
    loc: Location | None
    locs: dict[str, Location]  # scalar field name -> origin

    def __init__(
        self,
        *,
        id: str,
        kind: ClaimKind,
        source: ClaimSource,
        format: InputFormat = "json",
        claim_form: ClaimForm = "electronic",
        type_of_bill: str | None = None,
        place_of_service: str | None = None,
        statement_from: dt.date | None = None,
        statement_to: dt.date | None = None,
        admission_date: dt.date | None = None,
        discharge_date: dt.date | None = None,
        payer: Payer | None = None,
        filing_indicator: str | None = None,
        medicare_part: Literal["A", "B"] | None = None,
        total_charge: Decimal | None = None,
        diagnoses: list[Diagnosis] | None = None,
        procedures: list[Procedure] | None = None,
        condition_codes: list[Coded] | None = None,
        value_codes: list[ValueCode] | None = None,
        occurrence_codes: list[OccurrenceCode] | None = None,
        notes: list[Note] | None = None,
        lines: list[Line] | None = None,
        drg: Coded | None = None,
        admission_type: str | None = None,
        admission_source: str | None = None,
        patient_status: str | None = None,
        sex: str | None = None,
        birth_date: dt.date | None = None,
        input_notes: list[InputNote] | None = None,
        loc: Location | None = None,
        locs: dict[str, Location] | None = None,
    ) -> None:
        self.id = id
        self.kind = kind
        self.format = format
        self.source = source
        self.claim_form = claim_form
        self.type_of_bill = type_of_bill
        self.place_of_service = place_of_service
        self.statement_from = statement_from
        self.statement_to = statement_to
        self.admission_date = admission_date
        self.discharge_date = discharge_date
        self.payer = payer
        self.filing_indicator = filing_indicator
        self.medicare_part = medicare_part
        self.total_charge = total_charge
        self.diagnoses = diagnoses if diagnoses is not None else []
        self.procedures = procedures if procedures is not None else []
        self.condition_codes = condition_codes if condition_codes is not None else []
        self.value_codes = value_codes if value_codes is not None else []
        self.occurrence_codes = occurrence_codes if occurrence_codes is not None else []
        self.notes = notes if notes is not None else []
        self.lines = lines if lines is not None else []
        self.drg = drg
        self.admission_type = admission_type
        self.admission_source = admission_source
        self.patient_status = patient_status
        self.sex = sex
        self.birth_date = birth_date
        self.input_notes = input_notes if input_notes is not None else []
        self.loc = loc
        self.locs = locs if locs is not None else {}

    def __repr__(self) -> str:
        # PHI: a repr ends up in logs and tracebacks; the birth date never does.
        parts = [f"{f.name}={'<redacted>' if f.name == 'birth_date' else repr(getattr(self, f.name))}"
                 for f in fields(self)]
        return f"Claim({', '.join(parts)})"

    @property
    def setting(self) -> Setting:
        """Inpatient when the type of bill is 11X (or 12X) or the claim has a discharge and PCS codes."""
        if self.kind == "professional":
            return "professional"
        tob = (self.type_of_bill or "").lstrip("0")
        if tob[:2] in ("11", "12", "18", "21", "41", "65", "66", "86"):
            return "inpatient"
        if not tob and self.procedures:
            return "inpatient"
        return "outpatient"

    @property
    def discharge_or_through(self) -> dt.date | None:
        """The date ICD-10-PCS validity is judged by: the discharge date, else the statement end."""
        return self.discharge_date or self.statement_to

    @property
    def service_month(self) -> str | None:
        """The month of service, "YYYY-MM": of the discharge date, else the statement through date,
        else the first dated service line (None when the claim has none of them)."""
        day = self.discharge_date or self.statement_to
        if day is None:
            day = next((line.date for line in self.lines if line.date is not None), None)
        return f"{day.year:04d}-{day.month:02d}" if day is not None else None

    def line_date(self, line: Line) -> dt.date | None:
        """A line's date of service; institutional lines without one fall back to the statement period."""
        return line.date or self.statement_to or self.statement_from or self.discharge_date

    def all_notes(self) -> Iterator[Note]:
        yield from self.notes
        for line in self.lines:
            yield from line.notes

    def all_codes(self) -> Iterator[Coded]:
        """Every coded value on the claim (claim level and line level)."""
        yield from self.diagnoses
        yield from self.procedures
        yield from self.condition_codes
        yield from self.value_codes
        yield from self.occurrence_codes
        if self.drg is not None:
            yield self.drg
        for line in self.lines:
            if line.revenue_code is not None:
                yield line.revenue_code
            if line.procedure is not None:
                yield line.procedure
            yield from line.modifiers


@dataclass(slots=True)
class ClaimError:
    """A claim (or a part of a file) that could not be read. Reported as `status: failed`."""

    id: str | None
    source: ClaimSource
    error: str  # says what is wrong and where
    location: Location | None

    def __init__(
        self, *, id: str | None, source: ClaimSource, error: str, location: Location | None = None
    ) -> None:
        self.id = id
        self.source = source
        self.error = error
        self.location = location
