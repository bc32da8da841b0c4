"""CAR-T 837 claims built from the shared real files check the same as their JSON twins, and
`--fix` writes back only the fixed segments."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from cartcode.checker import _engine as engine
from cartcode.findings import CodeRef, Fix
from cartcode.model import Claim
from cartcode.formats import _json as json_claims
from cartcode.formats.x12 import _reader as x12

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
PAIRS = sorted(p for p in FIXTURES.iterdir() if p.name.startswith("cart-") and p.suffix in (".x12", ".edi"))


def twin(path: Path) -> Path:
    return path.with_suffix(".json")


def comparable(claim: Claim) -> dict[str, Any]:
    """The claim without what only says where it came from."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v) for k, v in value.items() if k not in ("loc", "locs", "source", "format", "input_notes")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(claim.model_dump())  # type: ignore[no-any-return]


def findings(report: engine.Report) -> list[tuple[Any, ...]]:
    return [
        (f.rule, f.severity.value, f.message, [c.model_dump() for c in f.codes], f.fix and f.fix.model_dump())
        for c in report.claims
        for f in c.findings
        if not f.rule.startswith("X12-")  # envelope notes exist only in X12
    ]


def test_fixtures_exist() -> None:
    assert {p.name for p in PAIRS} >= {
        "cart-837i-inpatient.x12",
        "cart-837i-outpatient.edi",
        "cart-837p-medicare.edi",
        "cart-837p-office.edi",
        "cart-837i-two-claims.edi",
    }


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name)
def test_same_claim_as_json_twin(path: Path) -> None:
    from_x12 = list(x12.read(path.read_bytes(), path.name))
    from_json = list(json_claims.read(twin(path).read_bytes(), twin(path).name))
    assert all(isinstance(c, Claim) for c in from_x12 + from_json)
    assert [comparable(c) for c in from_x12 if isinstance(c, Claim)] == [
        comparable(c) for c in from_json if isinstance(c, Claim)
    ]


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name)
def test_same_findings_as_json_twin(path: Path, kb: Any) -> None:
    from_x12 = engine.check(path.read_bytes(), filename=path.name, kb=kb)
    from_json = engine.check(twin(path).read_bytes(), filename=twin(path).name, kb=kb)
    assert findings(from_x12) == findings(from_json)
    for claim in from_x12.claims:  # X12 findings point at segments
        for f in claim.findings:
            if f.location.get("segment_id") not in (None, "CLM"):
                assert f.location["segment"] >= 1 and f.location["line"] >= 1


def test_expected_findings_on_the_inpatient_claim(kb: Any) -> None:
    path = FIXTURES / "cart-837i-inpatient.x12"
    report = engine.check(path.read_bytes(), filename=path.name, kb=kb)
    rules = {f.rule: f for f in report.claims[0].findings}
    assert {"CART101", "CART304"} <= set(rules)
    assert rules["CART101"].location["segment_id"] == "HI" and rules["CART101"].location["element"] == "HI01-2"


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name)
def test_no_fix_is_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    assert x12.apply_fixes(data, path.name, {}) == data
    assert x12.apply_fixes(data, path.name, {0: []}) == data


def _segments_changed(before: bytes, after: bytes) -> list[str]:
    a = before.decode("latin-1").replace("\n", "").split("~")
    b = after.decode("latin-1").replace("\n", "").split("~")
    return [line for line in difflib.ndiff(a, b) if line[:1] in "+-"]


def test_two_claims_findings(kb: Any) -> None:
    path = FIXTURES / "cart-837i-two-claims.edi"
    report = engine.check(path.read_bytes(), filename=path.name, kb=kb)
    first, second = ({f.rule for f in c.findings} for c in report.claims)
    assert "CART504" in first  # payer-only ZC
    assert "CART502" in second  # expanded access without condition code 90


def _se_right(data: bytes) -> bool:
    segs = [s.strip() for s in data.decode("latin-1").split("~")]
    st = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    return segs[se].split("*")[1] == str(se - st + 1)


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.name)
def test_fix_round_trip(path: Path, kb: Any) -> None:
    data = path.read_bytes()
    report = engine.check(data, filename=path.name, kb=kb)
    fixed = engine.fix(data, path.name, report)
    safe = [f for c in report.claims for f in c.findings if f.fix is not None and f.fix.safe]
    if not safe:
        assert fixed == data
        return
    assert fixed != data
    assert _se_right(fixed)
    again = engine.check(fixed, filename=path.name, kb=kb)
    fixed_rules = {f.rule for f in safe}
    still = {f.rule for c in again.claims for f in c.findings if f.fix is not None and f.fix.safe}
    assert not (fixed_rules & still), f"safe fixes did not stick: {fixed_rules & still}"
    # only the fixed segments (and SE01 when the count moved) differ
    changed = _segments_changed(data, fixed)
    assert all(line[2:5].rstrip("*") in ("HI", "SV1", "SV2", "NTE", "SE") for line in changed), changed


def test_fix_replaces_in_place_and_counts_segments() -> None:
    path = FIXTURES / "cart-837i-inpatient.x12"
    data = path.read_bytes()
    fixes = {
        0: [
            Fix(
                remove=[CodeRef(system="ICD-10-PCS", code="XW033C3")],
                add=[CodeRef(system="ICD-10-PCS", code="XW033H7")],
                safe=True,
            ),
            Fix(
                remove=[CodeRef(system="revenue", code="0636")],
                add=[CodeRef(system="revenue", code="0891")],
                safe=True,
                line=2,
            ),
            Fix(add=[CodeRef(system="condition", code="90")], safe=True),
            Fix(add=[CodeRef(system="ICD-10-CM", code="Z00.6")], safe=True),
            Fix(add=[CodeRef(system="note", code="Expand Acc Use")], safe=True),
        ]
    }
    out = x12.apply_fixes(data, path.name, fixes)
    text = out.decode()
    assert "HI*BBR:XW033H7:D8:20211231~" in text
    assert "SV2*0891*HC:Q2041*399000*UN*1~" in text
    # other diagnoses (ABF) get their own HI segment, right after the principal one
    assert "HI*BG:90~" in text and "HI*ABK:C8338~\nHI*ABF:Z006~" in text
    assert "NTE*ADD*Yescarta~\nNTE*ADD*Expand Acc Use~" in text
    assert _se_right(out)
    # HI order of the implementation guide: diagnoses, procedures, ..., condition codes
    assert text.index("HI*ABK") < text.index("HI*BBR") < text.index("HI*BG")
    (claim,) = x12.read(out, "fixed.x12")
    assert isinstance(claim, Claim)
    assert [p.code for p in claim.procedures] == ["XW033H7"]
    assert [c.code for c in claim.condition_codes] == ["90"]
    assert "Z00.6" in [d.code for d in claim.diagnoses]


def test_fix_modifiers_and_removal() -> None:
    path = FIXTURES / "cart-837i-outpatient.edi"
    data = path.read_bytes()
    fixes = {
        0: [
            Fix(remove=[CodeRef(system="modifier", code="KX")], safe=True, line=1),
            Fix(
                remove=[CodeRef(system="CPT", code="0540T")],
                add=[CodeRef(system="CPT", code="38228")],
                safe=True,
                line=1,
            ),
            Fix(add=[CodeRef(system="modifier", code="JW")], safe=True, line=2),
        ]
    }
    out = x12.apply_fixes(data, path.name, fixes).decode()
    assert "SV2*0874*HC:38228*5200*UN*2~" in out
    assert "SV2*0891*HC:Q2041:JW*399000*UN*1~" in out
    assert len(out) == len(data) - len("0540T:KX") + len("38228") + len(":JW")
    assert _se_right(out.encode())
