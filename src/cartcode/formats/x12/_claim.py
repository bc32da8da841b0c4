"""One 837 claim (loop 2300 and its 2400 lines) from its segments to a :class:`Claim`.

The scanner in :mod:`cartcode.formats.x12._reader` finds where a claim starts and ends and what its
subscriber context is; this module reads the claim's own segments. Models are built with
no validation of their own: the values are checked here, field by field, and a
problem becomes a located :class:`ClaimError` or :class:`InputNote`, never an exception.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Final, Literal, cast

from cartcode._codeformat import hcpcs_system, normalise
from cartcode.formats._limits import number_in_range
from cartcode.model import (
    Claim,
    ClaimKind,
    ClaimSource,
    Coded,
    Diagnosis,
    DiagnosisKind,
    InputNote,
    Line,
    Location,
    Note,
    OccurrenceCode,
    Payer,
    Procedure,
    ValueCode,
)

# SBR09 claim filing indicator -> payer class (and Medicare part).
# MA/MB are Medicare Part A/B. "16" is "Health Maintenance Organization (HMO) Medicare Risk", the
# code Medicare Advantage plans are billed under: payer medicare-advantage. Commercial plans file
# as CI, BL, HM, FI and the managed-care codes 12-15 and 17. Everything else (TRICARE "CH", VA,
# workers' comp, auto, liability, other federal, Title V, "ZZ", "11") is "other".
PAYER_BY_FILING: Final[dict[str, tuple[Payer, Literal["A", "B"] | None]]] = {
    "MA": ("medicare", "A"),
    "MB": ("medicare", "B"),
    "16": ("medicare-advantage", None),
    "MC": ("medicaid", None),
    "CI": ("commercial", None),
    "BL": ("commercial", None),
    "HM": ("commercial", None),
    "FI": ("commercial", None),
    "12": ("commercial", None),
    "13": ("commercial", None),
    "14": ("commercial", None),
    "15": ("commercial", None),
    "17": ("commercial", None),
}

# HI qualifiers: (what, system, kind). Diagnoses: ABK/BK principal, ABJ/BJ admitting, ABF/BF
# other, APR/PR reason for visit, ABN/BN external cause. BK/BF/... are ICD-9 and kept as such
# (no rule reads ICD-9, but the codes stay visible and located).
_HI: Final[dict[str, tuple[str, str, str]]] = {
    "ABK": ("dx", "ICD-10-CM", "principal"),
    "BK": ("dx", "ICD-9-CM", "principal"),
    "ABJ": ("dx", "ICD-10-CM", "admitting"),
    "BJ": ("dx", "ICD-9-CM", "admitting"),
    "ABF": ("dx", "ICD-10-CM", "other"),
    "BF": ("dx", "ICD-9-CM", "other"),
    "APR": ("dx", "ICD-10-CM", "reason"),
    "PR": ("dx", "ICD-9-CM", "reason"),
    "ABN": ("dx", "ICD-10-CM", "other"),
    "BN": ("dx", "ICD-9-CM", "other"),
    "BBR": ("px", "ICD-10-PCS", "principal"),
    "BR": ("px", "ICD-9-CM", "principal"),
    "BBQ": ("px", "ICD-10-PCS", "other"),
    "BQ": ("px", "ICD-9-CM", "other"),
    "BE": ("value", "value", ""),
    "BG": ("condition", "condition", ""),
    "BH": ("occurrence", "occurrence", ""),
    "DR": ("drg", "MS-DRG", ""),
    # Occurrence spans (BI), treatment codes (TC) and ABC/HIPPS-like qualifiers carry nothing the
    # rules read; they are skipped on purpose, not reported.
    "BI": ("skip", "", ""),
    "TC": ("skip", "", ""),
}


class ClaimReadError(ValueError):
    """A required part of the claim is missing or unreadable; the claim fails alone."""

    def __init__(self, message: str, loc: Location) -> None:
        self.loc = loc
        super().__init__(message)


class Segment:
    """One segment of the claim. A plain class, not a dataclass: mypyc compiles its __init__
    (a dataclass's generated __init__ runs as interpreted Python, once per segment)."""

    __slots__ = ("elements", "line", "offset", "ordinal", "tag")

    def __init__(self, tag: str, elements: list[str], ordinal: int, line: int, offset: int) -> None:
        self.tag = tag
        self.elements = elements  # elements[0] is the tag, so elements[n] is the n-th data element
        self.ordinal = ordinal  # 1-based segment number in the file
        self.line = line  # 1-based text line
        self.offset = offset  # byte offset in the file

    def get(self, n: int) -> str:
        return self.elements[n] if n < len(self.elements) else ""

    def __repr__(self) -> str:
        return f"Segment({self.tag!r}, {self.elements!r}, {self.ordinal}, {self.line}, {self.offset})"


class Context:
    """What the claim inherits from the envelope and its subscriber loop (a plain class for
    the same reason as Segment)."""

    __slots__ = (
        "component", "dmg", "dmg_loc", "file", "filing_indicator", "index", "kind", "notes", "repetition", "sbr_loc",
    )

    def __init__(
        self,
        file: str,
        index: int,
        kind: ClaimKind,
        component: str,
        repetition: str | None,
        filing_indicator: str | None = None,
        sbr_loc: Location | None = None,
        notes: list[InputNote] | None = None,
        dmg: list[str] | None = None,
        dmg_loc: Location | None = None,
    ) -> None:
        self.file = file
        self.index = index
        self.kind: ClaimKind = kind
        self.component = component
        self.repetition = repetition
        self.filing_indicator = filing_indicator
        self.sbr_loc = sbr_loc
        self.notes: list[InputNote] = notes if notes is not None else []
        self.dmg = dmg  # the elements of the patient's DMG (2010CA, else 2010BA when the subscriber is the patient)
        self.dmg_loc = dmg_loc


def loc_of(ctx: Context, seg: Segment, loop: str, element: str | None = None) -> Location:
    """Where `seg` (an `element` of it) is: a full claim makes a dozen of these, the reader's
    most frequent object."""
    return Location(
        file=ctx.file, segment=seg.ordinal, line=seg.line, loop=loop, segment_id=seg.tag, element=element,
        offset=seg.offset,
    )


def where(loc: Location) -> str:
    """'segment 31 (CLM05-1, line 31, loop 2300)': how messages name a place in the file."""
    detail = [d for d in (loc.element or loc.segment_id,) if d]
    if loc.line is not None:
        detail.append(f"line {loc.line}")
    if loc.loop:
        detail.append(f"loop {loc.loop}")
    return f"segment {loc.segment}" + (f" ({', '.join(detail)})" if detail else "")


def _with_element(loc: Location, element: str) -> Location:
    return Location(
        file=loc.file, segment=loc.segment, line=loc.line, loop=loc.loop, segment_id=loc.segment_id,
        element=element, offset=loc.offset,
    )


_DATES: Final[dict[str, dt.date | None]] = {}  # a batch has few distinct dates; dates are immutable
_DECIMALS: Final[dict[str, Decimal | None]] = {}  # and few distinct amounts; Decimal is immutable
_MEMO_MAX: Final = 50_000


def parse_date(text: str) -> dt.date | None:
    """CCYYMMDD (D8), the first date of CCYYMMDD-CCYYMMDD (RD8), or CCYYMMDDHHMM (DT)."""
    found = _DATES.get(text, _DATES)
    if found is not _DATES:
        return found  # type: ignore[return-value]
    day: dt.date | None = None
    if len(text) >= 8 and text[:8].isdigit():
        try:
            day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            day = None
    if len(_DATES) < _MEMO_MAX:
        _DATES[text] = day
    return day


def _period(text: str) -> tuple[dt.date | None, dt.date | None]:
    start, _, end = text.partition("-")
    first = parse_date(start)
    return first, parse_date(end) if end else first


def _decimal(text: str) -> Decimal | None:
    found = _DECIMALS.get(text, _DECIMALS)
    if found is not _DECIMALS:
        return found  # type: ignore[return-value]
    value: Decimal | None = None
    if text:
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is not None and not number_in_range(value):  # infinite, 1E+999, 23 digits: refused
            value = None
    if len(_DECIMALS) < _MEMO_MAX:
        _DECIMALS[text] = value
    return value


# Element labels of the service segments, formatted once: SV1 -> {n: "SV10n"} and the procedure
# composite's components (index k -> "SV101-k" for SV1, "SV202-k" for SV2).
# The claim fields a reader collects in _Builder.claim_kw (all default to None in Claim.__init__).
_CLAIM_KW: Final = frozenset({
    "type_of_bill", "place_of_service", "statement_from", "statement_to", "admission_date", "discharge_date",
    "payer", "filing_indicator", "medicare_part", "total_charge", "admission_type", "admission_source",
    "patient_status", "sex", "birth_date",
})
# The service line fields collected in a line dict (Line.__init__; all but `number` default to None).
_LINE_KW: Final = frozenset({
    "number", "revenue_code", "procedure", "modifiers", "units", "charge", "date", "ndc", "place_of_service",
    "diagnosis_pointers", "notes", "loc", "locs",
})
_SV_ELEMENTS: Final = {tag: {n: f"{tag}{n:02d}" for n in range(1, 8)} for tag in ("SV1", "SV2")}
_SV_LABELS: Final = {tag: {k: f"{tag}{proc:02d}-{k}" for k in range(1, 8)} for tag, proc in (("SV1", 1), ("SV2", 2))}


# Element labels formatted once (string formatting is a measurable part of a full claim).
_HI_LABELS: Final = tuple(f"HI{n:02d}-2" for n in range(25))
_CL1_LABELS: Final = {n: f"CL10{n}" for n in (1, 2, 3)}
_NORMALISED: Final[dict[tuple[str, str], str]] = {}  # (system, raw code) -> normalise(): pure, few distinct


def _normalised(system: str, code: str) -> str:
    key = (system, code)
    found = _NORMALISED.get(key)
    if found is None:
        found = normalise(system, code)
        if len(_NORMALISED) < _MEMO_MAX:
            _NORMALISED[key] = found
    return found


class _Builder:
    """Reads one claim's segments; kept as a class so the helpers share the context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.notes: list[InputNote] = list(ctx.notes)
        self.claim_kw: dict[str, object] = {}
        self.locs: dict[str, Location] = {}
        self.diagnoses: list[Diagnosis] = []
        self.procedures: list[Procedure] = []
        self.conditions: list[Coded] = []
        self.values: list[ValueCode] = []
        self.occurrences: list[OccurrenceCode] = []
        self.claim_notes: list[Note] = []
        self.lines: list[Line] = []
        self.drg: Coded | None = None
        self.discharge_hour_only = False

    def note(self, message: str, loc: Location, severity: Literal["error", "warning", "info"] = "warning") -> None:
        self.notes.append(
            InputNote(rule="X12-CLAIM", severity=severity, message=f"{message} ({where(loc)})", loc=loc)
        )

    # -- claim level -------------------------------------------------------------------------
    def clm(self, seg: Segment) -> tuple[str, Location]:
        ctx = self.ctx
        loc = loc_of(ctx, seg, "2300", "CLM01")
        claim_id = seg.get(1)
        if not claim_id:
            raise ClaimReadError("CLM01 (claim id) is missing", loc)
        charge_text = seg.get(2)
        charge = _decimal(charge_text)
        if charge is None:
            what = "missing" if not charge_text else f"not an amount ({charge_text!r})"
            raise ClaimReadError(f"CLM02 (total charge) is {what}", loc_of(ctx, seg, "2300", "CLM02"))
        self.claim_kw["total_charge"] = charge
        self.locs["total_charge"] = loc_of(ctx, seg, "2300", "CLM02")
        parts = seg.get(5).split(ctx.component)
        facility = parts[0]
        frequency = parts[2] if len(parts) > 2 else ""
        if not facility:
            what = "type of bill" if ctx.kind == "institutional" else "place of service"
            raise ClaimReadError(f"CLM05-1 ({what}) is missing", loc_of(ctx, seg, "2300", "CLM05-1"))
        if ctx.kind == "institutional":
            # CLM05-1 is the first two digits of the type of bill, CLM05-3 the frequency; some
            # senders zero-pad to three ("011"): the model's TOB has no leading zero.
            tob = (facility[-2:] if len(facility) > 2 and facility.startswith("0") else facility) + frequency
            self.claim_kw["type_of_bill"] = tob
            self.locs["type_of_bill"] = loc_of(ctx, seg, "2300", "CLM05")  # built only where used
        else:
            self.claim_kw["place_of_service"] = facility
            self.locs["place_of_service"] = loc_of(ctx, seg, "2300", "CLM05-1")
        return claim_id, loc

    def dtp_claim(self, seg: Segment) -> None:
        qual, fmt, value = seg.get(1), seg.get(2), seg.get(3)
        loc = loc_of(self.ctx, seg, "2300", "DTP03")
        if qual == "434":
            start, end = _period(value) if fmt == "RD8" else (parse_date(value), parse_date(value))
            if start is None:
                self.note(f"DTP*434 statement period {value!r} is not a date", loc, "error")
                return
            self.claim_kw["statement_from"] = start
            self.claim_kw["statement_to"] = end
            self.locs["statement_from"] = loc
            self.locs["statement_to"] = loc
        elif qual == "435":
            date = parse_date(value)
            if date is None:
                self.note(f"DTP*435 admission date {value!r} is not a date", loc)
                return
            self.claim_kw["admission_date"] = date
            self.locs["admission_date"] = loc
        elif qual == "096":
            date = parse_date(value) if fmt in ("D8", "DT", "RD8") else None
            if date is None:
                self.discharge_hour_only = True  # 5010 DTP*096 is TM (hour only): see finish()
                return
            self.claim_kw["discharge_date"] = date
            self.locs["discharge_date"] = loc

    def cl1(self, seg: Segment) -> None:
        for n, name in ((1, "admission_type"), (2, "admission_source"), (3, "patient_status")):
            if seg.get(n):
                self.claim_kw[name] = seg.get(n)
                self.locs[name] = loc_of(self.ctx, seg, "2300", _CL1_LABELS[n])

    def nte(self, seg: Segment, loop: str) -> Note | None:
        text = seg.get(2)
        if not text:
            self.note("NTE02 (note text) is empty", loc_of(self.ctx, seg, loop, "NTE02"))
            return None
        return Note(text=text, reference=seg.get(1) or None, loc=loc_of(self.ctx, seg, loop, "NTE02"))

    def hi(self, seg: Segment) -> None:
        ctx = self.ctx
        comp = ctx.component
        for n in range(1, len(seg.elements)):
            raw = seg.elements[n]
            if not raw:
                continue
            parts = raw.split(comp)
            qual = parts[0]
            code = parts[1] if len(parts) > 1 else ""
            loc = loc_of(ctx, seg, "2300", _HI_LABELS[n] if n < len(_HI_LABELS) else f"HI{n:02d}-2")
            spec = _HI.get(qual)
            if spec is None:
                self.note(f"HI{n:02d}-1 qualifier {qual!r} is not one this reader knows; skipped", loc)
                continue
            what, system, kind = spec
            if what == "skip":
                continue
            if not code:
                self.note(f"HI{n:02d}-2 (code) is missing after qualifier {qual}", loc, "error")
                continue
            code = _normalised(system, code)
            date = parse_date(parts[3]) if len(parts) > 3 and parts[2] in ("D8", "RD8") else None
            if what == "dx":
                poa = parts[8] if len(parts) > 8 and parts[8] else None
                self.diagnoses.append(
                    Diagnosis(system=system, code=code, loc=loc, kind=cast(DiagnosisKind, kind), poa=poa)
                )
            elif what == "px":
                if date is None:
                    self.note(f"HI{n:02d}-4 (procedure date) is missing or not a date", loc)
                self.procedures.append(
                    Procedure(system=system, code=code, loc=loc, date=date, principal=kind == "principal")
                )
            elif what == "value":
                amount = parts[4] if len(parts) > 4 and parts[4] else None
                self.values.append(ValueCode(system=system, code=code, loc=loc, amount=amount))
            elif what == "condition":
                self.conditions.append(Coded(system=system, code=code, loc=loc))
            elif what == "occurrence":
                self.occurrences.append(OccurrenceCode(system=system, code=code, loc=loc, date=date))
            else:  # drg
                self.drg = Coded(system=system, code=code, loc=loc)

    def patient(self, dmg: list[str], loc: Location) -> None:
        """DMG02 birth date (D8) and DMG03 sex. PHI: a bad birth date is reported without its value."""
        text = dmg[2] if len(dmg) > 2 else ""
        if text:
            born = parse_date(text) if (dmg[1] if len(dmg) > 1 else "D8") in ("D8", "") and len(text) == 8 else None
            if born is None:
                self.note("DMG02 (birth date) is not a CCYYMMDD date", _with_element(loc, "DMG02"))
            else:
                self.claim_kw["birth_date"] = born
                self.locs["birth_date"] = _with_element(loc, "DMG02")
        sex = (dmg[3] if len(dmg) > 3 else "").strip().upper()
        if sex:
            self.claim_kw["sex"] = sex if sex in ("M", "F") else "U"
            self.locs["sex"] = _with_element(loc, "DMG03")

    # -- line level --------------------------------------------------------------------------
    def service(self, seg: Segment, number: int, lx: Segment) -> dict[str, object]:
        """SV1 (837P) or SV2 (837I) -> the keyword arguments of a Line."""
        ctx = self.ctx
        line: dict[str, object] = {"number": number, "loc": loc_of(ctx, seg, "2400")}
        locs: dict[str, Location] = {}
        if seg.tag == "SV2":
            rev = seg.get(1)
            if not rev:
                raise ClaimReadError("SV201 (revenue code) is missing", loc_of(ctx, seg, "2400", "SV201"))
            line["revenue_code"] = Coded(
                system="revenue", code=_normalised("revenue", rev), loc=loc_of(ctx, seg, "2400", "SV201")
            )
            proc_el, charge_el, units_el = 2, 3, 5
        else:
            proc_el, charge_el, units_el = 1, 2, 4
            if seg.get(5):
                line["place_of_service"] = seg.get(5)
                locs["place_of_service"] = loc_of(ctx, seg, "2400", "SV105")
            pointers = [p for p in seg.get(7).split(ctx.component) if p]
            if pointers:
                if not all(p.isdigit() for p in pointers):
                    raise ClaimReadError(
                        f"SV107 (diagnosis pointers) {seg.get(7)!r} are not numbers", loc_of(ctx, seg, "2400", "SV107")
                    )
                line["diagnosis_pointers"] = [int(p) for p in pointers]
        tag = seg.tag
        labels = _SV_LABELS[tag]  # "SV101-2" ... without formatting them per line
        composite = seg.get(proc_el)
        if composite:
            parts = composite.split(ctx.component)
            qual = parts[0]
            code = parts[1] if len(parts) > 1 else ""
            if not code:
                raise ClaimReadError(
                    f"{labels[2]} (procedure code) is missing",
                    loc_of(ctx, seg, "2400", labels[2]),
                )
            system = hcpcs_system(code) if qual in ("HC", "") else f"X12-{qual}"
            line["procedure"] = Coded(system=system, code=code.upper(), loc=loc_of(ctx, seg, "2400", labels[2]))
            line["modifiers"] = [
                Coded(system="modifier", code=parts[i].upper(), loc=loc_of(ctx, seg, "2400", labels[i + 1]))
                for i in range(2, min(len(parts), 6))
                if parts[i]
            ]
        elif tag == "SV1":
            raise ClaimReadError("SV101 (procedure) is missing", loc_of(ctx, seg, "2400", "SV101"))
        for name, n in (("charge", charge_el), ("units", units_el)):
            text = seg.get(n)
            value = _decimal(text)
            el = _SV_ELEMENTS[tag][n]
            if text and value is None:
                raise ClaimReadError(f"{el} ({name}) {text!r} is not a number", loc_of(ctx, seg, "2400", el))
            if value is not None:
                line[name] = value
                locs[name] = loc_of(ctx, seg, "2400", el)
        line["locs"] = locs
        return line

    def finish(self, claim_id: str, clm_loc: Location) -> Claim:
        ctx = self.ctx
        kw = self.claim_kw
        if (
            ctx.kind == "institutional"
            and "discharge_date" not in kw
            and str(kw.get("type_of_bill", "")).startswith("11")
            and kw.get("statement_to") is not None
        ):
            # 5010 sends DTP*096 with the discharge *hour* only (TM). For an inpatient claim (TOB
            # 11X) the statement period's through date (DTP*434 RD8) is the discharge date, which
            # is the date ICD-10-PCS validity is judged by.
            kw["discharge_date"] = kw["statement_to"]
            self.locs["discharge_date"] = self.locs["statement_to"]
        if ctx.filing_indicator:
            payer, part = PAYER_BY_FILING.get(ctx.filing_indicator, ("other", None))
            kw["payer"] = payer
            kw["filing_indicator"] = ctx.filing_indicator
            kw["medicare_part"] = part
            if ctx.sbr_loc is not None:
                self.locs["payer"] = ctx.sbr_loc
                self.locs["filing_indicator"] = ctx.sbr_loc
        if ctx.dmg is not None and ctx.dmg_loc is not None:
            self.patient(ctx.dmg, ctx.dmg_loc)
        if not any(d.kind == "principal" for d in self.diagnoses):
            self.note("no principal diagnosis (HI ABK/BK) on the claim", clm_loc)
        if not _CLAIM_KW.issuperset(kw):
            raise AssertionError(f"unexpected claim fields {sorted(set(kw) - _CLAIM_KW)}")
        # every field by name (not **kw): a compiled call then goes straight to Claim.__init__ instead
        # of through keyword parsing; the fields the claim does not have are None, their default
        g = kw.get
        return Claim(
            id=claim_id,
            kind=ctx.kind,
            format="x12",
            source=ClaimSource(file=ctx.file, index=ctx.index),
            diagnoses=self.diagnoses,
            procedures=self.procedures,
            condition_codes=self.conditions,
            value_codes=self.values,
            occurrence_codes=self.occurrences,
            notes=self.claim_notes,
            lines=self.lines,
            drg=self.drg,
            input_notes=self.notes,
            loc=clm_loc,
            locs=self.locs,
            type_of_bill=cast("str | None", g("type_of_bill")),
            place_of_service=cast("str | None", g("place_of_service")),
            statement_from=cast("dt.date | None", g("statement_from")),
            statement_to=cast("dt.date | None", g("statement_to")),
            admission_date=cast("dt.date | None", g("admission_date")),
            discharge_date=cast("dt.date | None", g("discharge_date")),
            payer=cast("Payer | None", g("payer")),
            filing_indicator=cast("str | None", g("filing_indicator")),
            medicare_part=cast('Literal["A", "B"] | None', g("medicare_part")),
            total_charge=cast("Decimal | None", g("total_charge")),
            admission_type=cast("str | None", g("admission_type")),
            admission_source=cast("str | None", g("admission_source")),
            patient_status=cast("str | None", g("patient_status")),
            sex=cast("str | None", g("sex")),
            birth_date=cast("dt.date | None", g("birth_date")),
        )


def build_claim(segments: list[Segment], ctx: Context) -> Claim:
    """The claim from its segments (CLM first). Raises ClaimReadError for a missing required part."""
    b = _Builder(ctx)
    claim_id, clm_loc = b.clm(segments[0])
    loop = (
        "2300"  # "2300", "2310" (NM1 providers), "2320"/"2330" (other payers), "2400", "2410", "2420", "2430", "2440"
    )
    line: dict[str, object] | None = None
    lx: Segment | None = None
    line_notes: list[Note] = []

    for seg in segments[1:]:
        tag = seg.tag
        if tag == "LX":
            if lx is not None:
                _close_line(b, lx, line, line_notes)
                line = None
            lx, line_notes, loop = seg, [], "2400"
            continue
        if loop == "2300" or loop in ("2310", "2320", "2330"):
            if tag == "NM1":
                loop = "2330" if loop in ("2320", "2330") else "2310"
            elif tag == "SBR":
                loop = "2320"
            if loop != "2300":
                continue  # providers and other payers: their DTP/REF/NTE are not the claim's
            if tag == "HI":
                b.hi(seg)
            elif tag == "DTP":
                b.dtp_claim(seg)
            elif tag == "NTE":
                note = b.nte(seg, loop)
                if note is not None:
                    b.claim_notes.append(note)
            elif tag == "CL1":
                b.cl1(seg)
            continue
        # loop 2400 and its children
        if tag in ("SV1", "SV2"):
            if line is not None or lx is None:
                raise ClaimReadError(f"{tag} without its own LX", loc_of(ctx, seg, "2400"))
            line = b.service(seg, len(b.lines) + 1, lx)
            loop = "2400"
        elif tag == "LIN":
            loop = "2410"
            if seg.get(2) == "N4" and seg.get(3) and line is not None:
                line["ndc"] = seg.get(3)
                locs = line["locs"]
                assert isinstance(locs, dict)
                locs["ndc"] = loc_of(ctx, seg, loop, "LIN03")
        elif tag == "NM1":
            loop = "2420"
        elif tag == "SVD":
            loop = "2430"
        elif tag in ("LQ", "FRM"):
            loop = "2440"
        elif loop == "2400" and line is not None:
            if tag == "DTP" and seg.get(1) == "472":
                date = parse_date(seg.get(3))
                if date is None:
                    raise ClaimReadError(
                        f"DTP*472 service date {seg.get(3)!r} is not a date", loc_of(ctx, seg, loop, "DTP03")
                    )
                line["date"] = date
                locs = line["locs"]
                assert isinstance(locs, dict)
                locs["date"] = loc_of(ctx, seg, loop, "DTP03")
            elif tag == "NTE":
                note = b.nte(seg, loop)
                if note is not None:
                    line_notes.append(note)
    if lx is not None:
        _close_line(b, lx, line, line_notes)
    return b.finish(claim_id, clm_loc)


def _close_line(b: _Builder, lx: Segment, line: dict[str, object] | None, line_notes: list[Note]) -> None:
    """The service line opened by `lx` is complete: build it (an LX without SV1/SV2 fails the claim)."""
    if line is None:
        what = "SV2" if b.ctx.kind == "institutional" else "SV1"
        raise ClaimReadError(f"service line LX*{lx.get(1)} has no {what}", loc_of(b.ctx, lx, "2400", "LX01"))
    line["notes"] = list(line_notes)
    if not _LINE_KW.issuperset(line):
        raise AssertionError(f"unexpected line fields {sorted(set(line) - _LINE_KW)}")
    g = line.get  # every field by name, as Claim in _Builder.finish
    b.lines.append(Line(
        number=cast(int, line["number"]),
        revenue_code=cast("Coded | None", g("revenue_code")),
        procedure=cast("Coded | None", g("procedure")),
        modifiers=cast("list[Coded] | None", g("modifiers")),
        units=cast("Decimal | None", g("units")),
        charge=cast("Decimal | None", g("charge")),
        date=cast("dt.date | None", g("date")),
        ndc=cast("str | None", g("ndc")),
        place_of_service=cast("str | None", g("place_of_service")),
        diagnosis_pointers=cast("list[int] | None", g("diagnosis_pointers")),
        notes=cast("list[Note] | None", g("notes")),
        loc=cast("Location | None", g("loc")),
        locs=cast("dict[str, Location] | None", g("locs")),
    ))
