"""Issue 13: every modifier is tied to its line (`modifiers` on the CPT/HCPCS entry); office
Medicare product lines come as two claim groups with the manufacturer guide's modifiers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cartcode.kb.loader import KB
from cartcode.recommender._recommend import Answer, CodeItem, recommend

ROOT = Path(__file__).resolve().parents[2]
FIRST, LATER = "first claim", "later claims, same date of service"


def run(**facts: Any) -> Answer:
    return recommend({"payer": "medicare", **facts})


def office(day: str, product: str = "Kymriah", **facts: Any) -> Answer:
    return run(setting="professional", date=day, product=product, place_of_service="office", **facts)


def product_lines(answer: Answer) -> dict[str | None, CodeItem]:
    return {c.claim: c for c in answer.codes if c.system == "HCPCS" and c.line == "product"}


def test_office_rems_period_first_and_later_claims(kb: KB) -> None:
    answer = office("2024-03-01")
    lines = product_lines(answer)
    assert set(lines) == {FIRST, LATER}
    assert lines[FIRST].code == lines[LATER].code == "Q2042"
    assert lines[FIRST].modifiers == ["KX", "LU"]  # bms-breyanzi-billing; LU from MM12928
    assert lines[LATER].modifiers == ["KX", "LU", "76"]
    policy = kb.policy("office-product-modifiers-later-claims", dt.date(2024, 3, 1))
    assert policy is not None and set(policy.sources) <= set(lines[LATER].sources)
    for line in lines.values():
        assert line.units is not None and line.units.startswith("0.1") and "varies by MAC" in line.units
        assert line.confidence == "V-secondary"  # the policy rows' label


def test_each_modifier_is_also_a_code_entry_on_its_line_and_claim() -> None:
    answer = office("2024-03-01")
    mods = {(c.code, c.claim) for c in answer.codes if c.system == "modifier" and c.line == "product"}
    assert mods == {("KX", FIRST), ("LU", FIRST), ("KX", LATER), ("LU", LATER), ("76", LATER)}
    assert "76" not in product_lines(answer)[FIRST].modifiers  # never on the first claim
    admin = next(c for c in answer.codes if c.system == "CPT" and c.line == "admin")
    assert admin.modifiers == ["KX"]  # the administration line's KX (CR 12177), not the product's


def test_office_after_the_rems_drops_kx_by_inference() -> None:
    lines = product_lines(office("2025-07-15"))
    assert lines[FIRST].modifiers == ["LU"] and lines[LATER].modifiers == ["LU", "76"]
    assert lines[FIRST].confidence == "inferred"


def test_before_mm12928_there_are_no_claim_groups() -> None:
    answer = office("2021-12-31")
    assert not product_lines(answer) and "LU" not in answer.code_list("modifier")


def test_old_stand_in_notes_and_decision_are_gone(kb: KB) -> None:
    answer = office("2024-03-01")
    assert not any("Product Q-code line modifiers" in n.message for n in answer.notes)
    assert not any(d.startswith("pro-office-fractional-claims") or d == "pro-office-product-kx"
                   for c in answer.codes for d in c.decisions)


def test_facility_and_commercial_answers_keep_one_product_line_or_none() -> None:
    facility = run(setting="professional", date="2024-03-01", product="Kymriah")
    assert not product_lines(facility)
    commercial = office("2024-03-01", payer="commercial")
    assert all(c.claim is None for c in commercial.codes)


def test_outpatient_trial_modifiers_attach_to_their_lines() -> None:
    answer = run(setting="outpatient", date="2025-03-01", product="Yescarta", clinical_trial="this-product")
    hosts = [c for c in answer.codes if c.system in ("CPT", "HCPCS") and "Q0" in c.modifiers]
    assert {c.line for c in hosts} >= {"admin"}
    for code in answer.codes:
        if code.system == "modifier" and code.line:
            assert any(code.code in h.modifiers and h.line == code.line for h in answer.codes), code
    # the contract's modifier entries stay in `codes`
    assert "Q0" in answer.code_list("modifier")


def test_every_entry_has_modifiers_and_the_schema_accepts_them() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "src/cartcode/schemas/recommend-answer.schema.json").read_text())
    for answer in (office("2024-03-01"), office("2025-07-15", "Breyanzi"),
                   run(setting="outpatient", date="2025-03-01", product="Yescarta",
                       clinical_trial="different-product")):
        data = answer.to_json()
        jsonschema.validate(data, schema)
        assert all("modifiers" in c for c in data["codes"])
        assert all(not c["modifiers"] for c in data["codes"] if c["system"] not in ("CPT", "HCPCS"))


def test_descriptor_label_on_recommend_entries() -> None:
    answer = run(setting="outpatient", date="2025-03-01", product="Abecma")
    q = next(c for c in answer.codes if c.code == "Q2055")
    assert q.description_confidence == "V-low"
    data = answer.to_json()
    assert next(c for c in data["codes"] if c["code"] == "Q2055")["description_confidence"] == "V-low"


def test_contract_documents_the_additions() -> None:
    text = (ROOT / "CONTRACT.md").read_text()
    for word in ("`modifiers`", "`claim`", "`description_confidence`", "weak-evidence", "cartcode kb diff"):
        assert word in text


def test_text_output_shows_each_modifier_on_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    from cartcode.cli._recommend_cmd import render_answer

    render_answer(office("2024-03-01"))
    out = capsys.readouterr().out
    assert "-76 on Q2042" in out and "-KX on Q2042" in out and "-KX on 0540T" in out
    assert "[first claim]" in out and "[later claims," in out
    assert "modifiers KX LU" in out
