"""The one internal claim model.

Every reader (our JSON, X12 837I/837P, FHIR) turns its input into :class:`Claim`. Every value
that a rule may point at keeps a :class:`Location` saying where in the input it came from, so a
finding can name the segment, loop or JSON path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClaimKind = Literal["institutional", "professional"]
Payer = Literal["medicare", "medicare-advantage", "medicaid", "commercial", "other"]
ClaimForm = Literal["electronic", "paper"]
InputFormat = Literal["json", "x12", "fhir"]


class Location(BaseModel):
    """Where a value came from. Only the keys that apply are set (dumped with exclude_none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = None
    path: str | None = None  # JSON path ("$.claims[0].lines[1].code") or FHIR path ("item[0].productOrService")
    segment: int | None = None  # X12: 1-based ordinal of the segment in the file
    line: int | None = None  # 1-based text line, where the input has lines
    loop: str | None = None  # X12 loop id, e.g. "2300", "2400"
    segment_id: str | None = None  # X12 segment tag, e.g. "SV2"
    element: str | None = None  # X12 element reference, e.g. "SV202-2", "HI01-2"
    offset: int | None = None  # byte offset of the segment (X12) for writers

    def as_dict(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class Coded(BaseModel):
    """A code in a code system (see CONTRACT.md for the system names), with its origin."""

    model_config = ConfigDict(extra="forbid")

    system: str
    code: str
    loc: Location | None = None


class Diagnosis(Coded):
    kind: Literal["principal", "admitting", "reason", "other"] = "other"
    poa: str | None = None


class Procedure(Coded):
    """An ICD-10-PCS procedure on an institutional claim."""

    date: dt.date | None = None
    principal: bool = False


class ValueCode(Coded):
    amount: str | None = None  # money amount, or text such as the NCT number for D4


class OccurrenceCode(Coded):
    date: dt.date | None = None


class Note(BaseModel):
    """A billing note: 837I/837P NTE (NTE01 reference code, NTE02 text), or paper FL 80 remark."""

    model_config = ConfigDict(extra="forbid")

    text: str
    reference: str | None = None  # NTE01, e.g. "ADD"
    loc: Location | None = None


class Line(BaseModel):
    """A service line (837 loop 2400, our JSON `lines[]`, FHIR `item[]`)."""

    model_config = ConfigDict(extra="forbid")

    number: int  # 1-based line number within the claim
    revenue_code: Coded | None = None
    procedure: Coded | None = None  # system CPT or HCPCS
    modifiers: list[Coded] = Field(default_factory=list)
    units: Decimal | None = None
    charge: Decimal | None = None
    date: dt.date | None = None
    ndc: str | None = None
    place_of_service: str | None = None
    diagnosis_pointers: list[int] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    loc: Location | None = None
    locs: dict[str, Location] = Field(default_factory=dict)  # units, charge, date -> origin

    def modifier_codes(self) -> list[str]:
        return [m.code for m in self.modifiers]


class InputNote(BaseModel):
    """Something a reader noticed that does not stop the claim from being read (a GS08/ST03
    mismatch, a wrong SE/GE/IEA count, a non-fixed-width ISA, a bad segment identifier, a FHIR
    placeholder value the strict model rejects). Check reports each as a finding."""

    model_config = ConfigDict(extra="forbid")

    rule: str  # e.g. "X12-ENVELOPE", "X12-SEGMENT", "FHIR-MODEL"
    severity: Literal["error", "warning", "info"] = "warning"
    message: str
    loc: Location | None = None


class ClaimSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    index: int  # 0-based position of the claim in the file


class Claim(BaseModel):
    """An institutional (UB-04 / 837I) or professional (CMS-1500 / 837P) claim."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: ClaimKind
    format: InputFormat = "json"
    source: ClaimSource
    claim_form: ClaimForm = "electronic"
    type_of_bill: str | None = None  # 3 characters, e.g. "111", "131" (no leading zero)
    place_of_service: str | None = None  # professional, e.g. "11", "22"
    statement_from: dt.date | None = None
    statement_to: dt.date | None = None
    admission_date: dt.date | None = None
    discharge_date: dt.date | None = None
    payer: Payer | None = None
    filing_indicator: str | None = None  # SBR09: MA, MB, MC, CI, 16, ...
    medicare_part: Literal["A", "B"] | None = None
    total_charge: Decimal | None = None
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    condition_codes: list[Coded] = Field(default_factory=list)
    value_codes: list[ValueCode] = Field(default_factory=list)
    occurrence_codes: list[OccurrenceCode] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    drg: Coded | None = None
    admission_type: str | None = None  # 837I CL101 / UB-04 FL 14
    admission_source: str | None = None  # 837I CL102 / UB-04 FL 15
    patient_status: str | None = None  # 837I CL103 / UB-04 FL 17 (discharge status)
    input_notes: list[InputNote] = Field(default_factory=list)  # reader warnings, reported as findings
    loc: Location | None = None
    locs: dict[str, Location] = Field(default_factory=dict)  # scalar field name -> origin

    @property
    def setting(self) -> Literal["inpatient", "outpatient", "professional"]:
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


class ClaimError(BaseModel):
    """A claim (or a part of a file) that could not be read. Reported as `status: failed`."""

    model_config = ConfigDict(extra="forbid")

    id: str | None
    source: ClaimSource
    error: str  # says what is wrong and where
    location: Location | None = None
