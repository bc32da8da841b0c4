"""The X12 837 reader on the shared real-world files (../shared/x12/)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cartcode.findings import CodeRef, Fix
from cartcode.formats import read_claims
from cartcode.formats.x12 import _reader as x12
from cartcode.model import Claim, ClaimError
from shared_data import SHARED

SHARED_X12 = SHARED / "x12"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
FILES = sorted(p for p in SHARED_X12.rglob("*") if p.is_file() and p.parent.name != "licenses" and p.suffix != ".md")


def clm_count(data: bytes) -> int:
    """CLM segments, counted independently of the reader: split on the ISA's terminator."""
    term = data[105:106]
    return sum(1 for seg in data.split(term) if seg.strip(b"\r\n ").startswith(b"CLM*"))


def test_shared_files_are_there() -> None:
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_clm_is_one_item_in_order(path: Path) -> None:
    data = path.read_bytes()
    items = list(x12.read(data, path.name))
    assert len(items) == clm_count(data)
    assert [i.source.index for i in items] == list(range(len(items)))
    clm_ids = re.findall(rb"CLM\*([^*~]*)", data)
    assert [i.id for i in items] == [c.decode() for c in clm_ids]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_stream_reads_the_same_as_memory(path: Path) -> None:
    data = path.read_bytes()
    whole = [dataclasses.asdict(i) for i in x12.read(data, "f")]
    streamed = [dataclasses.asdict(i) for i in x12.read_stream(io.BytesIO(data), "f", block_size=64)]
    assert streamed == whole


def test_institutional_claim_extraction() -> None:
    data = (SHARED_X12 / "institutional" / "zx12-837i_example.x12").read_bytes()
    (claim,) = x12.read(data, "zx12.x12")
    assert isinstance(claim, Claim)
    assert claim.kind == "institutional" and claim.id == "ABC0002"
    assert claim.type_of_bill == "111"
    assert claim.statement_from == dt.date(2019, 3, 10) and claim.statement_to == dt.date(2019, 3, 11)
    # DTP*096 is TM (hour only): TOB 11X takes the statement through date as discharge date
    assert claim.discharge_date == dt.date(2019, 3, 11)
    assert claim.admission_date == dt.date(2019, 3, 10)
    assert claim.filing_indicator == "13" and claim.payer == "commercial"
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == ("3", "7", "01")
    principal = [d for d in claim.diagnoses if d.kind == "principal"]
    assert [(d.code, d.poa) for d in principal] == [("M24.562", "N")]
    assert claim.procedures[0].principal and claim.procedures[0].code == "009G0ZZ"
    assert claim.procedures[0].date == dt.date(2017, 10, 3)
    assert len(claim.procedures) == 13
    assert claim.drg is not None and claim.drg.code == "025"
    assert [c.code for c in claim.condition_codes][:3] == ["03", "04", "12"]
    assert claim.value_codes[0].code == "01" and claim.value_codes[0].amount == "73.42"
    assert [n.text for n in claim.notes] == ["PATIENT ALLERGIC TO PENICILLIN", "Billing Note"]
    line1, line2 = claim.lines
    assert line1.revenue_code is not None and line1.revenue_code.code == "0300"
    assert line1.procedure is not None and line1.procedure.code == "81099"
    assert line1.modifier_codes() == ["A1", "05", "02", "01"]
    assert line1.charge == Decimal("173.42") and line1.units == Decimal("1")
    assert line1.ndc == "00002143481"
    assert [n.text for n in line1.notes] == ["state regulation 123 was applied during the pricing of this claim"]
    loc = line1.procedure.loc
    assert loc is not None and (loc.segment_id, loc.element, loc.loop) == ("SV2", "SV202-2", "2400")
    assert data[loc.offset or 0 :].startswith(b"SV2*0300*HC:81099")
    assert loc.line == data[: loc.offset].count(b"\n") + 1
    assert line2.date == dt.date(2019, 3, 10)
    # GS08 says 837P, ST03 says 837I: read by ST03, with a warning
    assert any("GS08" in n.message and n.severity == "warning" for n in claim.input_notes)


def test_professional_claim_extraction() -> None:
    data = (SHARED_X12 / "professional" / "stupidedi-drug-administered-in-the-physician-office.edi").read_bytes()
    (claim,) = x12.read(data, "p.edi")
    assert isinstance(claim, Claim)
    assert claim.kind == "professional" and claim.place_of_service == "11"
    assert claim.total_charge == Decimal("103.37")
    assert claim.payer == "commercial"
    assert [(ln.procedure.system, ln.procedure.code) for ln in claim.lines if ln.procedure] == [
        ("CPT", "90782"),
        ("HCPCS", "J1550"),
    ]
    assert claim.lines[1].ndc == "00026063512"
    assert claim.lines[0].date == dt.date(2004, 7, 11)
    assert claim.lines[0].diagnosis_pointers == [1]


def test_medicare_part_b_from_sbr09() -> None:
    data = (SHARED_X12 / "institutional" / "stupidedi-837-institutional-claim.edi").read_bytes()
    (claim,) = x12.read(data, "i.edi")
    assert isinstance(claim, Claim)
    # the 2320 SBR (other payer, CI) must not be mistaken for the subscriber's SBR (MB)
    assert (claim.payer, claim.medicare_part, claim.filing_indicator) == ("medicare", "B", "MB")
    assert claim.locs["payer"].segment_id == "SBR"


def test_missing_clm05_fails_that_claim_alone() -> None:
    data = (SHARED_X12 / "malformed" / "imsweb-x12_missing_elements.txt").read_bytes()
    first, second = x12.read(data, "m.txt")
    assert isinstance(first, Claim)
    assert isinstance(second, ClaimError)
    assert "CLM05-1" in second.error and "segment 31" in second.error
    assert second.location is not None and second.location.segment == 31


def test_bad_segment_identifiers_are_located_errors() -> None:
    data = (SHARED_X12 / "malformed" / "imsweb-x12_bad_segment_identifier.txt").read_bytes()
    first, _second = x12.read(data, "b.txt")
    assert isinstance(first, Claim)
    bad = [n for n in first.input_notes if n.rule == "X12-SEGMENT"]
    assert [(n.loc.segment if n.loc else None, n.severity) for n in bad] == [(6, "error"), (11, "error"), (20, "error")]
    assert "Nd4" in bad[1].message and "NM31" in bad[2].message


def test_non_fixed_width_isa_is_read_with_an_error_note() -> None:
    data = (SHARED_X12 / "malformed" / "imsweb-x12_bad_first_line.txt").read_bytes()
    items = list(x12.read(data, "bad.txt"))
    assert len(items) == 2 and all(isinstance(i, Claim) for i in items)
    first = items[0]
    assert isinstance(first, Claim)
    assert any(n.message.startswith("ISA02 has 9 characters") and n.severity == "error" for n in first.input_notes)


def test_wrong_se_count_is_a_located_warning() -> None:
    data = (SHARED_X12 / "professional" / "imsweb-x12_valid.txt").read_bytes()
    items = list(x12.read(data, "v.txt"))
    last = items[-1]
    assert isinstance(last, Claim)
    (se,) = [n for n in last.input_notes if n.message.startswith("SE01")]
    assert se.loc is not None and se.loc.segment_id == "SE" and se.loc.segment == 36


def test_unreadable_isa_is_one_failed_entry_not_an_exception() -> None:
    items = list(x12.read(b"ISA*00*bad~GS*HC~ST*837*1*005010X222A1~CLM*1*2***11:B:1~SE*3*1~", "x.txt"))
    assert len(items) == 1 and isinstance(items[0], ClaimError)
    assert "ISA" in items[0].error and "1 CLM" in items[0].error


def test_dispatch_by_content() -> None:
    data = (SHARED_X12 / "professional" / "imsweb-x12_valid.txt").read_bytes()
    assert [i.id for i in read_claims(data, "v.txt")] == ["A37YH556", "A37YH667"]


def test_prefilter_yields_minimal_claims_for_non_matching() -> None:
    data = (SHARED_X12 / "professional" / "stupidedi-commercial-health-insurance.edi").read_bytes()
    (skipped,) = x12.read(data, "c.edi", prefilter=re.compile(rb"Q2041"))
    assert isinstance(skipped, Claim) and skipped.id == "26463774" and skipped.lines == []
    (full,) = x12.read(data, "c.edi", prefilter=re.compile(rb"99214"))
    assert isinstance(full, Claim) and len(full.lines) == 4


@pytest.mark.parametrize(
    "convert",
    [
        lambda b: b.replace(b"*", b"|").replace(b":", b"^").replace(b"~", b"\n"),  # line break terminates
        lambda b: b.replace(b"~", b"~\r\n"),  # CRLF after every terminator
        lambda b: b.replace(b"*", b"!").replace(b"~", b"'\n"),  # EDIFACT-like punctuation
    ],
    ids=["pipe-caret-newline", "crlf", "bang-quote"],
)
def test_any_delimiters_read_the_same(convert: Any) -> None:
    original = (FIXTURES / "cart-837i-outpatient.edi").read_bytes()
    data = convert(original)

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("line", "offset", "file")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    (a,) = x12.read(data, "x")
    (b,) = x12.read(original, "x")
    assert isinstance(a, Claim) and a.payer == "medicare"
    assert strip(dataclasses.asdict(a)) == strip(dataclasses.asdict(b))
    assert a.lines[0].procedure is not None and a.lines[0].procedure.loc is not None
    loc = a.lines[0].procedure.loc
    assert loc.line == data[: loc.offset].count(b"\n") + 1
    assert x12.apply_fixes(data, "x", {}) == data
    fix = Fix(
        remove=[CodeRef(system="CPT", code="0540T")], add=[CodeRef(system="CPT", code="38228")], safe=True, line=1
    )
    fixed = x12.apply_fixes(data, "x", {0: [fix]})
    assert fixed == data.replace(b"0540T", b"38228")
