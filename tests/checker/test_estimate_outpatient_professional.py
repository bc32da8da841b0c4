"""check's payment `estimate` for outpatient (OPPS) and professional (PFS) claims that bill the CAR-T
administration code (issue 15, item 4): the same functions recommend's estimate calls, fed from the
claim (the administration line's date, the product, the place of service); the missing APC 5694
rate and RVUs are named, never invented; a claim without the code has no `estimate` key; grouping
plays no part."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner

from cartcode.checker._engine import check
from cartcode.cli._main import app
from cartcode.cli._render import TextWriter, write_report
from cartcode.kb.loader import load_kb
from cartcode.payment import estimate_outpatient, estimate_professional
from cartcode.schemas import load_schema


def report(*claims: dict[str, Any], grouping: bool = True) -> dict[str, Any]:
    data = check(json.dumps({"claims": list(claims)}), filename="claims.json", grouping=grouping).to_json()
    jsonschema.validate(data, load_schema("check-report"))
    return data


def outpatient(name: str = "OP1", *, code: str = "38228", day: str = "2025-06-02",
               notes: tuple[str, ...] = ("Yescarta",)) -> dict[str, Any]:
    return {"id": name, "kind": "institutional", "type_of_bill": "131", "payer": "medicare",
            "statement_from": day, "statement_to": day, "diagnoses": ["C83.30"], "notes": list(notes),
            "lines": [{"revenue_code": "0874", "code": code, "units": 1, "charge": "10000", "date": day}]}


def professional(name: str = "PR1", *, pos: str | None = "22", code: str = "38228",
                 day: str = "2026-03-02") -> dict[str, Any]:
    claim: dict[str, Any] = {"id": name, "kind": "professional", "payer": "medicare", "diagnoses": ["C83.30"],
                             "lines": [{"code": code, "units": 1, "charge": "500", "date": day}]}
    if pos is not None:
        claim["place_of_service"] = pos
    return claim


def _cited(estimate: dict[str, Any]) -> None:
    known = load_kb().sources
    for comp in estimate["components"]:
        assert comp["sources"] and all(s in known for s in comp["sources"]), comp
    assert estimate["sources"] and all(s in known for s in estimate["sources"])


def test_an_outpatient_38228_claim_names_the_missing_apc_5694_rate() -> None:
    (claim,) = report(outpatient())["claims"]
    assert list(claim) == ["id", "source", "status", "error", "estimate", "findings"]
    est = claim["estimate"]
    assert (est["setting"], est["system"], est["year"], est["basis"]) == ("outpatient", "OPPS", "CY2025", "national")
    kb = load_kb()
    same = estimate_outpatient(dt.date(2025, 6, 2), product="yescarta", kb=kb).to_json()
    assert est["components"] == same["components"]
    assert est["total"] == same["total"]
    if not any(c["name"].startswith("38228 administration") for c in est["components"]):  # the KB lacks the rate
        assert est["total"] is None and est["complete"] is False
        assert any(w.startswith("Administration line left out: APC 5694 (38228)") for w in est["warnings"])
    if not any(c["name"].startswith("product") for c in est["components"]):  # no ASP limit for the quarter
        assert any(w.startswith("Product line left out: the KB has no ASP payment limit") for w in est["warnings"])
    inputs = {i["name"]: i for i in est["inputs"]}
    assert inputs["date of service"]["value"] == "2025-06-02"
    assert inputs["administration code"]["value"] == "38228" and inputs["administration code"]["origin"] == "given"
    assert est["sources"] and all(s in kb.sources for s in est["sources"])


def test_0540t_before_2025_is_the_outpatient_administration_code() -> None:
    (claim,) = report(outpatient(code="0540T", day="2024-05-06"))["claims"]
    est = claim["estimate"]
    assert (est["system"], est["year"]) == ("OPPS", "CY2024")
    code = next(i for i in est["inputs"] if i["name"] == "administration code")
    assert (code["value"], code["origin"]) == ("0540T", "given")


def test_a_professional_38228_claim_gets_the_partial_pfs_estimate_with_sources() -> None:
    (claim,) = report(professional())["claims"]
    assert list(claim) == ["id", "source", "status", "error", "estimate", "findings"]
    est = claim["estimate"]
    assert (est["setting"], est["system"], est["year"]) == ("professional", "PFS", "CY2026")
    same = estimate_professional(dt.date(2026, 3, 2), place_of_service="facility", kb=load_kb()).to_json()
    assert est["components"] == same["components"] and est["total"] == same["total"]
    assert est["total"] is not None and est["complete"] is False  # work RVU only: PE and MP RVUs are not in the KB
    work = next(c for c in est["components"] if c["name"].startswith("38228 work RVU"))
    assert "conversion factor" in work["formula"]
    assert {c["name"] for c in est["components"]} >= {"38225 (bundled)", "38226 (bundled)", "38227 (bundled)"}
    assert any("practice expense RVU left out" in w for w in est["warnings"])
    _cited(est)
    place = next(i for i in est["inputs"] if i["name"] == "place of service")
    assert (place["value"], place["origin"]) == ("facility", "given") and "22" in place["note"]


def test_the_place_of_service_picks_facility_or_office() -> None:
    claims = report(professional("O", pos="11"), professional("M", pos=None))["claims"]
    office, missing = (c["estimate"] for c in claims)
    place = {i["name"]: i for i in office["inputs"]}["place of service"]
    assert place["value"] == "office" and "11" in place["note"]
    assert any("non-facility practice expense RVU" in w for w in office["warnings"])
    place = {i["name"]: i for i in missing["inputs"]}["place of service"]
    assert (place["value"], place["origin"]) == ("facility", "defaulted")


def test_a_code_not_in_force_is_named() -> None:
    (claim,) = report(professional(code="0540T", day="2025-06-02"))["claims"]
    est = claim["estimate"]
    assert any(w.startswith("The claim bills 0540T on 2025-06-02") for w in est["warnings"])


def test_claims_without_the_administration_code_have_no_estimate_key() -> None:
    prep = professional("P", code="38226")
    visit = professional("V", code="99213")
    out = outpatient("X", notes=())
    out["lines"] = [{"revenue_code": "0510", "code": "99213", "units": 1, "charge": "100", "date": "2025-06-02"}]
    undated = professional("U")
    del undated["lines"][0]["date"]
    for claim in report(prep, visit, out, undated)["claims"]:
        assert "estimate" not in claim, claim["id"]
        assert list(claim) == ["id", "source", "status", "error", "findings"]


def test_no_grouping_leaves_the_outpatient_and_professional_estimate_on(tmp_path: Path) -> None:
    on = report(outpatient(), professional())["claims"]
    off = report(outpatient(), professional(), grouping=False)["claims"]
    assert [c["estimate"] for c in on] == [c["estimate"] for c in off]
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"claims": [professional()]}))
    out = CliRunner().invoke(app, ["check", str(path), "--no-grouping"]).stdout
    assert "Medicare payment estimate (PFS CY2026, national): $" in out


def test_text_report_has_the_estimate_line() -> None:
    result = check(json.dumps({"claims": [outpatient(), professional()]}), filename="c.json")
    buffer = io.StringIO()
    write_report(result, TextWriter(buffer))
    lines = [line.strip() for line in buffer.getvalue().splitlines() if "Medicare payment estimate" in line]
    assert len(lines) == 2
    assert lines[0].startswith("Medicare payment estimate (OPPS CY2025, national)")
    assert lines[1].startswith("Medicare payment estimate (PFS CY2026, national): $") and "partial" in lines[1]
