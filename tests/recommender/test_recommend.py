"""recommend(): date switches, the worked cases of facts.md §7, warnings, bad input, the JSON Schema."""

from __future__ import annotations

import itertools
from typing import Any

import jsonschema
import pytest

from cartcode.errors import InputError
from cartcode.kb.loader import KB
from cartcode.recommender._encounter import Encounter, parse_encounter
from cartcode.recommender._recommend import Answer, CodeItem, PaymentItem, fiscal_year, recommend
from cartcode.schemas import load_schema


def run(**facts: Any) -> Answer:
    facts.setdefault("payer", "medicare")
    return recommend(facts)


def codes(answer: Answer, system: str) -> list[str]:
    return [c.code for c in answer.codes if c.system == system]


def warnings_of(answer: Answer, kind: str) -> list[str]:
    return [w.message for w in answer.warnings if w.kind == kind]


# ------------------------------------------------------------------ the done-when example
def test_done_when_breyanzi_central_inpatient() -> None:
    answer = run(setting="inpatient", date="2025-06-01", product="Breyanzi", route="central")
    by_code = {(c.system, c.code): c for c in answer.codes}
    assert ("ICD-10-PCS", "XW043N7") in by_code and ("revenue", "0874") in by_code
    assert codes(answer, "ICD-10-PCS") == ["XW043N7"]
    drg = [p for p in answer.payment if p.system == "MS-DRG" and p.kind == "grouping"]
    assert [p.code for p in drg] == ["018"] and drg[0].fiscal_year == "FY2025"
    items: list[CodeItem | PaymentItem] = [by_code[("ICD-10-PCS", "XW043N7")], by_code[("revenue", "0874")], drg[0]]
    for item in items:
        assert item.sources and item.confidence


# ------------------------------------------------------------------ date switches
@pytest.mark.parametrize(("product", "day", "want"), [
    ("Yescarta", "2021-09-30", ["XW033C3", "XW043C3"]),
    ("Yescarta", "2021-10-01", ["XW033H7", "XW043H7"]),
    ("Kymriah", "2021-09-30", ["XW033C3", "XW043C3"]),
    ("Abecma", "2021-09-30", ["XW033C3", "XW043C3"]),
    ("Tecartus", "2021-09-30", ["XW23346", "XW24346"]),
    ("Tecartus", "2021-10-01", ["XW033M7", "XW043M7"]),
    ("Breyanzi", "2021-09-30", ["XW23376", "XW24376"]),
    ("Breyanzi", "2021-10-01", ["XW033N7", "XW043N7"]),
    ("autologous", "2021-09-30", ["XW033C3", "XW043C3"]),
    ("autologous", "2021-10-01", ["XW033C7", "XW043C7"]),
    ("Aucatzyl", "2024-10-01", ["XW0338A", "XW0438A"]),
])
def test_pcs_switch_on_2021_10_01(product: str, day: str, want: list[str]) -> None:
    assert codes(run(setting="inpatient", date=day, product=product), "ICD-10-PCS") == want


def test_legacy_generic_code_for_named_product_cites_first_coast() -> None:
    answer = run(setting="inpatient", date="2020-05-01", product="Kymriah", route="peripheral")
    assert codes(answer, "ICD-10-PCS") == ["XW033C3"]
    assert "fcso-oncology-table" in answer.codes[0].sources
    # the start date of XW033C3 is inferred: a fact of the one weak-evidence warning (issue 13)
    assert any("the period of ICD-10-PCS XW033C3" in w for w in warnings_of(answer, "weak-evidence"))


@pytest.mark.parametrize(("day", "title_start"), [
    ("2020-09-30", "Autologous Bone Marrow Transplant"),
    ("2020-10-01", "Chimeric Antigen Receptor (CAR) T-cell Immunotherapy"),
    ("2021-10-01", "Chimeric Antigen Receptor (CAR) T-cell and Other Immunotherapies"),
])
def test_drg_by_fiscal_year(day: str, title_start: str) -> None:
    answer = run(setting="inpatient", date=day, product="Yescarta")
    drg = next(p for p in answer.payment if p.kind == "grouping")
    assert drg.code == ("016" if day < "2020-10-01" else "018")
    assert drg.description.startswith(title_start)


def test_fiscal_year() -> None:
    import datetime as dt

    assert fiscal_year(dt.date(2024, 9, 30)) == 2024 and fiscal_year(dt.date(2024, 10, 1)) == 2025


@pytest.mark.parametrize(("day", "kx"), [("2019-08-07", True), ("2025-06-25", True), ("2025-06-26", False)])
def test_kx_switch_rems_end(day: str, kx: bool) -> None:
    answer = run(setting="professional", date=day, product="Yescarta")
    assert ("KX" in codes(answer, "modifier")) is kx
    if not kx:
        assert any("KX" in w for w in warnings_of(answer, "unverified-date"))
        assert any("no longer required" in n.message for n in answer.notes)


def test_kx_only_for_medicare_part_b() -> None:
    assert "KX" not in codes(run(setting="professional", date="2024-01-01", product="Yescarta",
                                 payer="commercial"), "modifier")
    assert "KX" not in codes(run(setting="inpatient", date="2024-01-01", product="Yescarta"), "modifier")


def test_zc_payment_fact_from_2025_07_07() -> None:
    before = run(setting="inpatient", date="2025-07-06", product="Yescarta", clinical_trial="different-product")
    after = run(setting="inpatient", date="2025-07-07", product="Yescarta", clinical_trial="different-product")
    assert not [p for p in before.payment if p.code == "ZC"]
    zc = [p for p in after.payment if p.code == "ZC"]
    assert len(zc) == 1 and zc[0].system == "condition" and "hhs-cr13926" in zc[0].sources
    assert "ZC" not in codes(after, "condition")  # a payment fact, not a code to report


# ------------------------------------------------------------------ facts.md §7 worked cases
def test_t1_inpatient_yescarta_purchased() -> None:
    answer = run(setting="inpatient", date="2025-11-15", product="Yescarta", route="peripheral")
    assert codes(answer, "ICD-10-PCS") == ["XW033H7"]
    assert "0891" in codes(answer, "revenue")
    product_line = next(c for c in answer.codes if c.code == "0891")
    assert product_line.amount == "> 1.00"
    assert not codes(answer, "ICD-10-CM") and not codes(answer, "condition") and not codes(answer, "modifier")
    assert [p.code for p in answer.payment if p.kind == "grouping"] == ["018"]
    assert warnings_of(answer, "horizon")  # FY2026: PCS codes confirmed through FY2025 only


def test_t2_t3_legacy_codes() -> None:
    assert codes(run(setting="inpatient", date="2021-09-15", product="Yescarta", route="peripheral"),
                 "ICD-10-PCS") == ["XW033C3"]
    assert codes(run(setting="inpatient", date="2021-03-01", product="Tecartus", route="central"),
                 "ICD-10-PCS") == ["XW24346"]


def test_t4_free_product_in_its_own_trial() -> None:
    answer = run(setting="inpatient", date="2025-03-01", product="autologous", clinical_trial="this-product",
                 product_acquisition="no-cost", nct_number="NCT01234567")
    assert codes(answer, "ICD-10-CM") == ["Z00.6"]
    assert codes(answer, "condition") == ["30"]
    d4 = next(c for c in answer.codes if c.code == "D4")
    assert d4.amount == "01234567"  # the 8 digits, without the prefix
    assert answer.encounter["nct_number"] == "NCT01234567"
    assert {p.adjusted for p in answer.payment if p.kind == "payment-adjustment"} == {True}
    assert warnings_of(answer, "unverified")  # how to report the no-cost product line
    assert "86" not in codes(answer, "value")


def test_t4_nct_placeholder_when_unknown() -> None:
    answer = run(setting="inpatient", date="2025-03-01", product="autologous", clinical_trial="this-product")
    assert next(c for c in answer.codes if c.code == "D4").amount == "########"


def test_t5_different_product_trial() -> None:
    answer = run(setting="inpatient", date="2025-08-01", product="Breyanzi", clinical_trial="different-product")
    assert "Z00.6" in codes(answer, "ICD-10-CM")
    assert "Diff Prod Clin Trial" in codes(answer, "note")
    assert {p.adjusted for p in answer.payment if p.kind == "payment-adjustment"} == {False}
    assert [p.code for p in answer.payment if p.kind == "payer-derived"] == ["ZC"]


def test_t6_expanded_access() -> None:
    answer = run(setting="inpatient", date="2024-02-01", product="autologous", expanded_access=True)
    assert "Expand Acc Use" in codes(answer, "note") and "90" in codes(answer, "condition")
    assert {p.adjusted for p in answer.payment if p.kind == "payment-adjustment"} == {True}


def test_t7_outpatient_carvykti() -> None:
    answer = run(setting="outpatient", date="2025-03-10", product="Carvykti")
    lines = {(c.line, c.system, c.code) for c in answer.codes if not c.optional}
    assert ("product", "HCPCS", "Q2056") in lines and ("product", "revenue", "0891") in lines
    assert ("admin", "CPT", "38228") in lines and ("admin", "revenue", "0874") in lines
    q = next(c for c in answer.codes if c.code == "Q2056")
    assert q.units == "1"
    assert "KX" not in codes(answer, "modifier")
    assert any("Part A" in n.message and "KX" in n.message for n in answer.notes)


def test_t8_outpatient_before_2025() -> None:
    answer = run(setting="outpatient", date="2024-12-15", product="Yescarta")
    assert [c.code for c in answer.codes if c.line == "admin" and c.system == "CPT"] == ["0540T"]
    assert "38228" not in codes(answer, "CPT")


def test_t9_prep_codes_tracking_or_bundled() -> None:
    answer = run(setting="outpatient", date="2025-02-03", product="Yescarta")
    prep = {(c.line, c.system, c.code) for c in answer.codes if c.optional}
    assert {("collection", "CPT", "38225"), ("collection", "revenue", "0871"), ("processing", "CPT", "38226"),
            ("processing", "revenue", "0872"), ("receipt", "CPT", "38227"), ("receipt", "revenue", "0873")} <= prep
    assert any("never both" in n.message for n in answer.notes)
    # the Category I mapping to 0871-0873 is by analogy: inferred
    c38225 = next(c for c in answer.codes if c.code == "38225")
    assert c38225.confidence in ("inferred", "V-secondary")
    old = run(setting="outpatient", date="2024-02-03", product="Yescarta")
    assert {c.code for c in old.codes if c.optional and c.system == "CPT"} == {"0537T", "0538T", "0539T"}
    assert {p.value for p in old.payment if p.code in ("0537T", "0538T", "0539T")} == {"B"}


def test_t10_professional_autologous() -> None:
    march = run(setting="professional", date="2025-03-15", product="autologous")
    assert "38228" in codes(march, "CPT") and "KX" in codes(march, "modifier")
    mpfs = {p.code: p.value for p in march.payment if p.status == "MPFS"}
    assert mpfs == {"38228": "A", "38225": "B", "38226": "B", "38227": "B"}
    bundled = [p for p in march.payment if p.code == "38225"]
    assert bundled[0].confidence == "inferred"
    october = run(setting="professional", date="2025-10-15", product="autologous")
    assert "KX" not in codes(october, "modifier")


def test_t11_office_kymriah_lu_fractional_units() -> None:
    answer = run(setting="professional", date="2022-03-01", product="Kymriah", place_of_service="office")
    q = next(c for c in answer.codes if c.code == "Q2042")
    assert q.units is not None and q.units.startswith("0.1")
    assert "LU" in codes(answer, "modifier")
    before = run(setting="professional", date="2021-12-31", product="Kymriah", place_of_service="office")
    assert "LU" not in codes(before, "modifier")


def test_t12_allogeneic_everywhere() -> None:
    assert codes(run(setting="inpatient", date="2025-03-01", product="allogeneic"), "ICD-10-PCS") == \
        ["XW033G7", "XW043G7"]
    for setting in ("outpatient", "professional"):
        answer = run(setting=setting, date="2025-03-01", product="allogeneic")
        assert codes(answer, "CPT") == ["38999"]
        assert "KX" not in codes(answer, "modifier")


# ------------------------------------------------------------------ warnings
def test_every_weak_code_is_warned_with_its_label() -> None:
    answer = run(setting="inpatient", date="2025-03-01", product="Aucatzyl", route="central")
    for code in answer.codes:
        if code.confidence != "V-primary":
            assert any(code.code in w.message and code.confidence in w.message for w in answer.warnings), code.code
    assert any("XW0438A" in w.message and "unverified" in w.message for w in answer.warnings)


def test_horizon_warnings() -> None:
    assert warnings_of(run(setting="inpatient", date="2025-10-01", product="Yescarta"), "horizon")
    assert not warnings_of(run(setting="inpatient", date="2025-09-30", product="Yescarta"), "horizon")
    assert not warnings_of(run(setting="outpatient", date="2026-03-01", product="Yescarta"), "horizon")
    assert warnings_of(run(setting="outpatient", date="2027-01-01", product="Yescarta"), "horizon")


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("facts", "field"), [
    ({"setting": "outpatient", "date": "2018-12-31", "product": "Yescarta"}, "date"),
    ({"setting": "inpatient", "date": "2024-09-30", "product": "Aucatzyl"}, "product"),
    ({"setting": "inpatient", "date": "2021-09-30", "product": "Carvykti"}, "product"),
    ({"setting": "inpatient", "date": "2017-09-30", "product": "autologous"}, "date"),
    ({"setting": "clinic", "date": "2025-01-01", "product": "Yescarta"}, "setting"),
    ({"setting": "inpatient", "date": "2025-02-30", "product": "Yescarta"}, "date"),
    ({"setting": "inpatient", "date": "01/02/2025", "product": "Yescarta"}, "date"),
    ({"setting": "inpatient", "date": 20250101, "product": "Yescarta"}, "date"),
    ({"setting": "inpatient", "date": "2025-01-01", "product": "Yescarta", "payer": "bcbs"}, "payer"),
    ({"setting": "inpatient", "date": "2025-01-01", "product": "Yescarta", "route": "arterial"}, "route"),
    ({"setting": "inpatient", "date": "2025-01-01", "product": "Yescarta", "expanded_access": "yes"},
     "expanded_access"),
    ({"setting": "inpatient", "date": "2025-01-01", "product": "Yescarta", "colour": "red"}, "colour"),
    ({"date": "2025-01-01", "product": "Yescarta"}, "setting"),
])
def test_bad_input_is_an_input_error_naming_the_field(facts: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        recommend(facts)
    assert field in str(info.value)


def test_unknown_product_lists_close_matches() -> None:
    with pytest.raises(InputError) as info:
        recommend({"setting": "inpatient", "date": "2025-01-01", "product": "Yescarte"})
    assert "yescarta" in str(info.value).casefold() and "did you mean" in str(info.value)


def test_outpatient_before_2019_is_an_error_even_for_aucatzyl_inpatient_timing() -> None:
    with pytest.raises(InputError, match="2019-01-01"):
        recommend({"setting": "outpatient", "date": "2018-06-01", "product": "Kymriah"})
    with pytest.raises(InputError, match="2024-10-01"):
        recommend({"setting": "inpatient", "date": "2024-09-01", "product": "obe-cel"})


def test_encounter_object_and_mapping_give_the_same_answer(kb: KB) -> None:
    facts = {"setting": "inpatient", "date": "2025-06-01", "product": "liso-cel", "route": "central"}
    enc = parse_encounter(facts, kb)
    assert isinstance(enc, Encounter) and enc.product == "breyanzi"
    assert recommend(enc, kb).to_json() == recommend(facts, kb).to_json()


# ------------------------------------------------------------------ the JSON Schema
_PRODUCTS = ["Kymriah", "Yescarta", "Tecartus", "Breyanzi", "Abecma", "Carvykti", "Aucatzyl", "autologous",
             "allogeneic"]
_DATES = ["2020-03-01", "2021-06-01", "2022-11-01", "2024-12-31", "2025-03-01", "2025-07-10", "2026-11-01"]


def _grid() -> list[dict[str, Any]]:
    out = []
    for setting, product, day, payer, trial, acq, ea in itertools.product(
        ["inpatient", "outpatient", "professional"], _PRODUCTS, _DATES, ["medicare", "commercial"],
        ["none", "this-product", "different-product"], ["purchased", "no-cost"], [False, True],
    ):
        out.append({"setting": setting, "product": product, "date": day, "payer": payer, "clinical_trial": trial,
                    "product_acquisition": acq, "expanded_access": ea,
                    "claim_form": "paper" if ea and trial == "none" else "electronic"})
    return out[::7]  # a spread-out sample of the full grid keeps the suite fast


def test_answers_validate_against_the_shipped_schema(kb: KB) -> None:
    schema = load_schema("recommend-answer")
    validator = jsonschema.Draft202012Validator(schema)
    validated = 0
    for facts in _grid():
        try:
            answer = recommend(facts, kb)
        except InputError:
            continue  # no valid code on the date: an input error, tested above
        data = answer.to_json()
        errors = list(validator.iter_errors(data))
        assert not errors, (facts, errors[0].message)
        for code in data["codes"]:
            assert all(s in kb.sources for s in code["sources"])
        validated += 1
    assert validated > 100


def test_contract_keys_present() -> None:
    data = run(setting="outpatient", date="2025-03-01", product="Yescarta").to_json()
    assert list(data)[:3] == ["kb", "encounter", "codes"] and {"payment", "warnings"} <= set(data)
    assert set(data["kb"]) == {"edition", "as_of"}
    for code in data["codes"]:
        assert {"system", "code", "description", "use", "sources", "confidence"} <= set(code)


def test_weak_dated_switch_is_warned() -> None:
    answer = run(setting="professional", date="2025-03-01", product="Yescarta")
    kx_dates = [w for w in answer.warnings if "kx-part-b-required" in w.message]
    assert kx_dates and kx_dates[0].confidence == "unverified" and "ngs-kx-faq" in kx_dates[0].sources
    cc90 = run(setting="inpatient", date="2023-01-01", product="Yescarta", expanded_access=True)
    assert any("expanded-access-cc90" in w.message and w.kind == "weak-evidence" for w in cc90.warnings)


def test_outpatient_no_cost_product_is_flagged_unverified() -> None:
    answer = run(setting="outpatient", date="2025-03-01", product="Yescarta", product_acquisition="no-cost")
    assert warnings_of(answer, "unverified")
    assert not [p for p in answer.payment if p.kind == "payment-adjustment"]  # an inpatient (MS-DRG 018) rule


def test_text_placeholders_resolve_from_policies() -> None:
    answer = run(setting="inpatient", date="2024-03-01", product="Yescarta")
    assert any("$257,958" in n.message for n in answer.notes)
    assert not any("{policy:" in n.message for n in answer.notes)
    later = run(setting="inpatient", date="2025-03-01", product="Yescarta")  # FY2025: value not found
    assert not any("base payment" in n.message for n in later.notes)


@pytest.mark.parametrize(("trial", "modifier"), [("this-product", "Q0"), ("different-product", "Q1")])
def test_outpatient_trial_line_modifiers(trial: str, modifier: str) -> None:
    answer = run(setting="outpatient", date="2025-03-01", product="Yescarta", clinical_trial=trial)
    lines = {(c.line, c.code) for c in answer.codes if c.system == "modifier"}
    assert lines == {("admin", modifier), ("product", modifier)}
    mod = next(c for c in answer.codes if c.code == modifier)
    assert mod.confidence == "inferred" and mod.where == "837I 2400 SV202-3 (modifier)"
    pro = run(setting="professional", date="2025-03-01", product="Yescarta", clinical_trial=trial, claim_form="paper")
    assert {(c.line, c.code) for c in pro.codes if c.code == modifier} == {("admin", modifier)}
    assert next(c for c in pro.codes if c.code == modifier).where == "CMS-1500 item 24D (modifier)"


def test_nct_digits_accepted() -> None:
    answer = run(setting="inpatient", date="2025-03-01", product="Yescarta", clinical_trial="this-product",
                 nct_number="01234567")
    assert answer.encounter["nct_number"] == "NCT01234567"
    with pytest.raises(InputError, match="nct_number"):
        run(setting="inpatient", date="2025-03-01", product="Yescarta", nct_number="NCT123")


def test_before_fda_approval_is_flagged() -> None:
    early = run(setting="inpatient", date="2024-10-15", product="Aucatzyl")
    assert codes(early, "ICD-10-PCS") == ["XW0338A", "XW0438A"]
    assert warnings_of(early, "before-approval")
    assert not warnings_of(run(setting="inpatient", date="2024-10-15", product="Aucatzyl",
                               clinical_trial="this-product"), "before-approval")
    assert not warnings_of(run(setting="inpatient", date="2024-11-08", product="Aucatzyl"), "before-approval")


def test_every_decision_row_fires_somewhere(kb: KB) -> None:
    """No dead rows in decisions.yaml: each one applies to at least one encounter of a broad grid."""
    fired: set[str] = set()
    for setting, product, day, payer, trial, acq, ea, form, pos in itertools.product(
        ["inpatient", "outpatient", "professional"], ["Kymriah", "Tecartus", "Aucatzyl", "autologous", "allogeneic"],
        ["2020-12-01", "2021-06-01", "2023-03-01", "2024-03-01", "2025-03-01", "2025-08-01", "2026-03-01",
         "2026-11-01"],
        ["medicare", "medicare-advantage", "medicaid"], ["none", "this-product", "different-product"],
        ["purchased", "no-cost"], [False, True], ["electronic"], ["facility", "office"],
    ):
        if pos == "office" and setting != "professional":
            continue
        try:
            answer = recommend({"setting": setting, "product": product, "date": day, "payer": payer,
                                "clinical_trial": trial, "product_acquisition": acq, "expanded_access": ea,
                                "claim_form": form, "place_of_service": pos}, kb)
        except InputError:
            continue
        traced: list[CodeItem | PaymentItem] = [*answer.codes, *answer.payment]
        for item in traced:
            fired.update(item.decisions)
        fired.update(m.decision for m in [*answer.notes, *answer.warnings] if m.decision)
    dead = [d.id for d in kb.decisions if d.id not in fired]
    assert not dead, dead
