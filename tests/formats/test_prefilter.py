"""The CAR-T pre-filter: every code the KB holds is caught, in every format; ordinary claims are not."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from cartcode.formats.x12._prefilter import (
    EXCLUDED_SYSTEMS,
    INPATIENT_BILL_TYPES,
    QUALIFIED,
    TOKEN_SYSTEMS,
    build_pattern,
    bundled_pattern,
    bundled_x12_pattern,
    is_relevant,
    match_starts,
)

ROOT = Path(__file__).resolve().parents[2]
from shared_data import SHARED  # noqa: E402

if str(ROOT) not in sys.path:  # bench/ holds the synthetic batch generator
    sys.path.insert(0, str(ROOT))


def _x12_forms(system: str, code: str) -> list[bytes]:
    """How the code sits in an 837 (837P SV1 / 837I SV2 / HI composites, NTE)."""
    bare = code.replace(".", "")
    if system in ("CPT", "HCPCS"):
        return [f"SV1*HC:{code}*5000*UN*1***1~".encode(), f"SV2*0874*HC:{code}:KX*5000*UN*1~".encode(),
                f"SV1*:{code.lower()}*5000*UN*1~".encode(), f"SV2**HC:{code}*5000*UN*1~".encode(),
                f"SV1>HC<{code}>5000>UN>1!".encode()]  # other delimiters
    if system == "ICD-10-PCS":
        return [f"HI*BBR:{code}:D8:20250101~".encode(), f"HI*BBQ:{code}:D8:20250101*BBQ:02HV33Z~".encode()]
    if system == "ICD-10-CM":
        return [f"HI*ABK:C8338*ABF:{bare}~".encode(), f"HI*ABF:{bare}~".encode()]
    if system == "revenue":
        return [f"SV2*{code}*HC:99999*100*UN*1~".encode(), f"SV2*{code.lstrip('0')}*HC:99999*100*UN*1~".encode()]
    if system in QUALIFIED:
        return [f"HI*{QUALIFIED[system]}:{code}~".encode(), f"HI*{QUALIFIED[system]}:{code}:100~".encode()]
    if system == "note":
        return [f"NTE*ADD*{code}~".encode(), f"NTE*ADD*{code.upper()}~".encode()]
    raise AssertionError(system)


def _json_forms(system: str, code: str) -> list[bytes]:
    forms = [json.dumps({"system": system, "code": code}).encode(), json.dumps({"code": code.lower()}).encode()]
    if system == "revenue":
        forms.append(json.dumps({"revenue_code": code.lstrip("0")}).encode())  # "874" as JSON may hold it
    if system == "MS-DRG":
        forms.append(json.dumps({"drg": code.lstrip("0")}).encode())
    return forms


def test_every_car_t_code_of_the_kb_is_matched(kb) -> None:  # type: ignore[no-untyped-def]
    pattern, x12_pattern = build_pattern(kb), build_pattern(kb, x12=True)
    checked = 0
    for row in kb.codes:
        if row.system in EXCLUDED_SYSTEMS:
            continue
        for form in _x12_forms(row.system, row.code):
            assert pattern.search(form), (row.system, row.code, form)
            assert x12_pattern.search(form), (row.system, row.code, form)
            checked += 1
        for form in _json_forms(row.system, row.code):
            assert pattern.search(form), (row.system, row.code, form)
            checked += 1
    systems = {row.system for row in kb.codes} - set(EXCLUDED_SYSTEMS)
    assert systems <= set(TOKEN_SYSTEMS) | set(QUALIFIED) | {"note"}
    assert checked > 100


@pytest.mark.parametrize("code", [f"087{d}" for d in range(10)] + ["0891", "Z006", "Z00.6"])
def test_the_families_the_brief_names(code: str) -> None:
    assert is_relevant(f"SV2*{code}*HC:99213*1*UN*1~".encode())
    assert is_relevant(json.dumps({"code": code}).encode())


@pytest.mark.parametrize(
    "text",
    [
        b"SV1*HC:138228*10*UN*1~",  # a longer number that contains a code
        b"SV1*HC:38228X*10*UN*1~",
        b"HI*ABK:XW033C71~",
        b"CLM*A1*30***11:B:1*Y*A*Y*Y~",  # 30 as an amount is not condition code 30
        b"HI*BH:90:D8:20250101~",  # occurrence code 90 is not condition code 90
        b"N4*MIAMI*FL*33111~",
        b"SV1*HC:99213:KX*10*UN*1~",  # KX alone is not CAR-T
        b"SV1*HC:99213*874*UN*1~",  # a charge of 874 is not revenue code 0874
        b"SV2*0450*HC:99285*874*UN*1~",
    ],
)
def test_near_misses_are_not_matched(text: bytes) -> None:
    assert not is_relevant(text)


SAMPLES = sorted((SHARED / "x12").glob("*/*.*")) + sorted((SHARED / "fhir").glob("*.json"))


@pytest.mark.parametrize("path", [p for p in SAMPLES if p.suffix != ".md" and p.parent.name != "licenses"],
                         ids=lambda p: p.name)
def test_ordinary_shared_samples_are_not_matched(path: Path) -> None:
    assert bundled_pattern().search(path.read_bytes()) is None


def test_ordinary_claims_of_the_synthetic_batch_are_cleared_and_car_t_claims_are_not() -> None:
    from bench import synth837

    pattern = bundled_pattern()
    data = b"".join(synth837.generate(400, cart_fraction=0.05))
    claims = data.split(b"HL*")[2:]
    relevant = [c for c in claims if pattern.search(c)]
    cart = [c for c in claims if b"CLM*CAR" in c]
    assert relevant == cart and len(cart) == 20


@pytest.mark.parametrize(
    "text",
    [
        b"N4*MEMPHIS*TN*38228~",  # a ZIP code
        b"SV1*HC:99213*874*UN*1~",
        b"SV1*ER:38228*10*UN*1~",  # not HCPCS: the reader keeps it as system X12-ER
        b"REF*EA*0540T~",
        b"REF*EA*Q2041~",  # HCPCS codes count only in SV1 / SV2, where the reader reads them
        b'NM1*IL*1*"0874"~',
    ],
)
def test_the_x12_variant_only_looks_where_the_reader_reads_codes(text: bytes, kb) -> None:  # type: ignore[no-untyped-def]
    assert build_pattern(kb, x12=True).search(text) is None


def test_match_starts_is_finditer() -> None:
    """The branch-by-branch scan finds exactly the starts finditer finds, overlaps included."""
    import random

    frags = [b"XW033C7", b"xw043", b"Z00.6", b"z006", b"BG*90", b"BE*86", b"DR*018", b"SV1*HC:0537T",
             b"SV2*0874*HC:0540T", b"SV2*874", b"Diff Prod Clin Trial", b"expand acc use", b'"90"', b'"0874"',
             b"X", b"W", b"*", b"~", b"A", b"1", b"0", b"V", b"2", b"e", b"E", b"DIFF", b"HC:", b"Q2041", b" "]
    rnd = random.Random(5)
    frags += [b"CLM*", b"CLM|", b"11:A:1", b"011>A", b"13:A:1", b"11:B:1", b"|", b">"]
    for pattern in (bundled_x12_pattern(), bundled_pattern(), bundled_x12_pattern(inpatient=True)):
        for _ in range(3000):
            text = b"".join(rnd.choice(frags) for _ in range(rnd.randint(0, 30)))
            assert match_starts(pattern, text) == [m.start() for m in pattern.finditer(text)], text


# -- the inpatient variant (batch with MS-DRG grouping on) -------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        b"CLM*IP1*25000***11:A:1**A*Y*Y~",
        b"CLM*IP1*25000***11>A>1**A*Y*Y~",  # other component separators
        b"CLM*IP1*25000***11^A^7~",
        b"CLM|IP-1|25000|||11>A>1||A|Y|Y!",  # other element separator (and a claim id with a dash)
        b"CLM:IP1:25000:::11;A;1::A:Y:Y~",
        b"CLM*IP1*25000***011:A:1**A*Y*Y~",  # zero-padded, as the reader accepts it
        b"CLM*IP1*25000***11:a:1~",
        b"CLM*IP1*25000***11::1~",  # no qualifier: the reader reads the type of bill all the same
        b"CLM*IP1*25000***11*Y~",  # no components at all
        b"CLM*IP1*25000***12:A:1~",  # the other types of bill Claim.setting calls inpatient
        b"CLM*IP1*25000***21:A:1~",
        b"CLM*IP1*25000***86:A:1",
    ],
)
def test_the_inpatient_variant_matches_the_clm_of_an_inpatient_claim(text: bytes, kb) -> None:  # type: ignore[no-untyped-def]
    inpatient = build_pattern(kb, x12=True, inpatient=True)
    assert match_starts(inpatient, text) == [0]  # on the CLM: inside the claim's bytes
    assert bundled_x12_pattern(inpatient=True).search(text)
    assert build_pattern(kb, x12=True).search(text) is None  # nothing CAR-T in it


@pytest.mark.parametrize(
    "text",
    [
        b"CLM*PCN000000000*569.07***11:B:1*Y*A*Y*Y~",  # 837P: place of service 11, qualifier B
        b"CLM*PCN1*569.07***21:B:1*Y*A*Y*Y~",
        b"CLM|PCN-1|569.07|||11>B>1|Y|A|Y|Y!",
        b"CLM*OP1*25000***13:A:1**A*Y*Y~",  # 837I outpatient
        b"CLM*OP1*25000***013:A:1**A*Y*Y~",
        b"CLM*OP1*25000***83:A:1**A*Y*Y~",
        b"CLM*OP1*11***13:A:1~",  # 11 in another element
        b"SV2*0120**11:A*UN*1~",
        b"HI*ABK:I5020:::::::Y~",
    ],
)
def test_the_inpatient_variant_leaves_professional_and_outpatient_claims_alone(text: bytes, kb) -> None:  # type: ignore[no-untyped-def]
    assert build_pattern(kb, x12=True, inpatient=True).search(text) is None


def test_without_inpatient_the_pattern_is_the_car_t_pre_filter_alone(kb) -> None:  # type: ignore[no-untyped-def]
    from cartcode.formats.x12._prefilter import _SPLIT, inpatient_clm_branch

    base, inpatient = build_pattern(kb, x12=True), build_pattern(kb, x12=True, inpatient=True)
    assert build_pattern(kb, x12=True, inpatient=False) is base and bundled_x12_pattern(inpatient=False) is base
    assert b"CLM" not in base.pattern and bundled_x12_pattern().pattern == base.pattern
    # the same branches, searched alone by match_starts, plus the CLM one
    branches = {first: sub.pattern for first, sub in _SPLIT[inpatient]}
    assert branches.pop(b"C") == inpatient_clm_branch().encode()
    assert branches == {first: sub.pattern for first, sub in _SPLIT[base]}


def _read_ids(data: bytes, pattern: re.Pattern[bytes] | None) -> tuple[dict[str, str], set[str]]:
    """(claim id -> setting of every claim read without a pre-filter, ids of the claims `pattern` clears)."""
    from cartcode.formats.x12 import _reader as x12
    from cartcode.formats.x12._stream import is_cleared
    from cartcode.model import Claim

    settings = {str(c.id): c.setting for c in x12.read(data, "f") if isinstance(c, Claim)}
    cleared: set[str] = set()
    if pattern is not None:
        for item in x12.read(data, "f", prefilter=pattern, skipped=lambda i, claim_id: cleared.add(claim_id)):
            if is_cleared(item):
                cleared.add(str(item.id))
    return settings, cleared


# facility codes no sender should write: the model may read a type of bill across CLM05-1 and
# CLM05-3 ("01" + "1" is 11), so they are read in full whatever they hold (never missed)
ODD_FACILITY_CODES = ("0", "1", "2", "4", "6", "8", "00", "01", "02", "04", "06", "08", "001")


@pytest.mark.parametrize("delimiters", [("*", ":", "~"), ("|", ">", "!")], ids=["star-colon", "pipe-gt"])
def test_the_inpatient_variant_reads_the_claims_the_model_calls_inpatient(delimiters: tuple[str, str, str]) -> None:
    """Every facility code 00-99 (zero-padded too): the reader with the inpatient pre-filter reads in
    full the claims whose setting is inpatient (the claims `check` groups), and clears the others."""
    from inpatient_837i import Stay, x12

    element, component, segment = delimiters
    codes = [f"{code:02d}" for code in range(10, 100)] + ["011", "013", "0011", "0311", "111", "131"]
    stays = [Stay(f"T{code}", facility=code) for code in codes + list(ODD_FACILITY_CODES)]
    stays += [Stay("Q11", qualifier=""), Stay("X11", qualifier="X"), Stay("B11", qualifier="B")]
    data = x12(stays, element=element, component=component, segment=segment)
    settings, cleared = _read_ids(data, bundled_x12_pattern(inpatient=True))
    assert len(settings) == len(stays)
    inpatient = {cid for cid, setting in settings.items() if setting == "inpatient"}
    read = set(settings) - cleared
    assert inpatient >= {f"T{code}" for code in INPATIENT_BILL_TYPES} | {"T011", "T0011", "T0311", "T111", "Q11"}
    assert read >= inpatient - {"B11"}  # nothing inpatient is missed (but qualifier B: 837P's composite)
    odd = {f"T{code}" for code in ODD_FACILITY_CODES}
    assert read - odd == inpatient - odd - {"B11"}  # and no real code is read for nothing
    _, cleared_base = _read_ids(data, bundled_x12_pattern())
    assert cleared_base == set(settings)  # the CAR-T pre-filter alone clears them all


def test_the_inpatient_variant_clears_the_ordinary_claims_of_an_837p_batch() -> None:
    from bench import synth837

    data = b"".join(synth837.generate(400, cart_fraction=0.05, claims_per_st=100))
    settings, cleared = _read_ids(data, bundled_x12_pattern(inpatient=True))
    assert set(settings) - cleared == {cid for cid in settings if cid.startswith("CAR")}
    assert len(settings) - len(cleared) == 20
