"""Every row, cell, footnote and note of the seed table (ASTCT 'Coding Options for CAR-T Therapy
Services', April 1, 2025: ../shared/seed/coding-options-car-t-2025-04.txt), pinned against the KB
data and the recommend output. The expected values are typed in from the seed, not computed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from cartcode.kb.loader import KB
from cartcode.recommender._recommend import Answer, recommend

SEED = "astct-2025-04"
# A date inside the seed's period for every product (Aucatzyl's code starts FY2025).
ON = "2025-03-01"

# Seed rows, inpatient column: product -> (peripheral, central, description as printed in the seed)
PCS_ROWS: dict[str, tuple[str, str, str]] = {
    "autologous": ("XW033C7", "XW043C7",
                   "Introduction of Autologous Engineered Chimeric Antigen Receptor T-cell Immunotherapy into "
                   "Peripheral Vein (or Central) Percutaneous Approach, New Technology Group 7"),
    "Kymriah": ("XW033J7", "XW043J7",
                "Introduction of Tisagenlecleucel Immunotherapy into Peripheral Vein (or Central), Percutaneous "
                "Approach, New Technology Group 7"),
    "Yescarta": ("XW033H7", "XW043H7",
                 "Introduction of Axicabtagene Ciloleucel Immunotherapy into Peripheral Vein (or Central), "
                 "Percutaneous Approach, New Technology Group 7"),
    "Tecartus": ("XW033M7", "XW043M7",
                 "Introduction of Brexucabtagene Autoleucel Immunotherapy into Peripheral Vein (or Central), "
                 "Percutaneous Approach, New Technology Group 7"),
    "Breyanzi": ("XW033N7", "XW043N7",
                 "Introduction of Lisocabtagene Maraleucel Immunotherapy into Peripheral Vein (or Central), "
                 "Percutaneous Approach, New Technology Group 7"),
    "Abecma": ("XW033K7", "XW043K7",
               "Introduction of Idecabtagene Vicleucel Immunotherapy into Peripheral Vein (or Central), "
               "Percutaneous Approach, New Technology Group 7"),
    "Carvykti": ("XW033A7", "XW043A7",
                 "Introduction of Ciltacabtagene Autoleucel into Peripheral Vein (or Central), Percutaneous "
                 "Approach, New Technology Group 7"),
    "Aucatzyl": ("XW0338A", "XW0438A",
                 "Introduction of Obecabtagene Autoleucel into Peripheral Vein (or Central), Percutaneous "
                 "Approach, New Technology Group 10"),
    "allogeneic": ("XW033G7", "XW043G7",
                   "Introduction of Allogeneic Engineered Chimeric Antigen Receptor T-cell Immunotherapy into "
                   "Peripheral Vein (or Central), Percutaneous Approach, New Technology Group 7"),
}


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def run(**facts: Any) -> Answer:
    facts.setdefault("payer", "medicare")
    return recommend(facts)


def codes_of(answer: Answer, system: str) -> list[str]:
    return [c.code for c in answer.codes if c.system == system]


def item(answer: Answer, system: str, code: str) -> Any:
    return next(c for c in answer.codes if c.system == system and c.code == code)


def notes_text(answer: Answer) -> str:
    return " | ".join(n.message for n in answer.notes)


# ------------------------------------------------------------------ inpatient column
@pytest.mark.parametrize("product", list(PCS_ROWS))
@pytest.mark.parametrize("route", ["peripheral", "central"])
def test_each_product_and_route_gives_its_pcs_code(product: str, route: str) -> None:
    peripheral, central, _ = PCS_ROWS[product]
    answer = run(setting="inpatient", date=ON, product=product, route=route)
    assert codes_of(answer, "ICD-10-PCS") == [peripheral if route == "peripheral" else central]
    pcs = answer.codes[0]
    assert SEED in pcs.sources and pcs.confidence and pcs.where and "HI" in pcs.where


@pytest.mark.parametrize("product", list(PCS_ROWS))
def test_route_absent_gives_both_pcs_codes(product: str) -> None:
    peripheral, central, _ = PCS_ROWS[product]
    assert codes_of(run(setting="inpatient", date=ON, product=product), "ICD-10-PCS") == [peripheral, central]


@pytest.mark.parametrize("product", list(PCS_ROWS))
def test_pcs_descriptions_are_the_seeds(kb: KB, product: str) -> None:
    peripheral, central, printed = PCS_ROWS[product]
    want_peripheral = printed.replace(" (or Central)", "")
    want_central = printed.replace("Peripheral Vein (or Central)", "Central Vein")
    for code, want, route in ((peripheral, want_peripheral, "peripheral"), (central, want_central, "central")):
        row = kb.code("ICD-10-PCS", code, dt.date.fromisoformat(ON))
        assert row is not None and row.route == route and SEED in row.sources
        assert _words(row.description) == _words(want), code
        group = 10 if code.endswith("A") else 7
        assert row.nt_group == group


def test_generic_and_allogeneic_row_notes(kb: KB) -> None:
    generic = kb.code("ICD-10-PCS", "XW033C7")
    assert generic is not None and "no product-specific ICD-10-PCS code" in (generic.note or "")
    allo = kb.code("ICD-10-PCS", "XW043G7")
    assert allo is not None and "any allogeneic CAR-T product" in (allo.note or "")
    assert allo.cell_kind == "allogeneic"


@pytest.mark.parametrize("product", ["Yescarta", "autologous", "allogeneic"])
def test_inpatient_revenue_code_0874_for_administration(product: str) -> None:
    answer = run(setting="inpatient", date=ON, product=product, route="central")
    admin = item(answer, "revenue", "0874")
    assert SEED in admin.sources
    assert "bedside" in admin.use  # footnote 2


# ------------------------------------------------------------------ outpatient column
@pytest.mark.parametrize(("day", "code"), [("2024-12-31", "0540T"), ("2025-01-01", "38228")])
@pytest.mark.parametrize("setting", ["outpatient", "professional"])
def test_autologous_admin_code_switches_on_2025_01_01(setting: str, day: str, code: str) -> None:
    answer = run(setting=setting, date=day, product="Yescarta")
    admin = [c for c in answer.codes if c.line == "admin" and c.system == "CPT"]
    assert [c.code for c in admin] == [code]
    assert SEED in admin[0].sources
    assert "0540T" not in codes_of(answer, "CPT") or code == "0540T"


@pytest.mark.parametrize("day", ["2024-06-01", "2025-06-01"])
def test_outpatient_admin_on_0874_si_s_apc_5694(day: str) -> None:
    answer = run(setting="outpatient", date=day, product="Kymriah")
    admin_line = {(c.system, c.code) for c in answer.codes if c.line == "admin"}
    assert ("revenue", "0874") in admin_line
    si = [p for p in answer.payment if p.status == "OPPS-SI" and p.code in ("0540T", "38228")]
    assert [p.value for p in si] == ["S"]
    assert "significant procedure" in si[0].description.casefold()
    apc = [p for p in answer.payment if p.system == "APC"]
    assert [p.code for p in apc] == ["5694"] and SEED in apc[0].sources


@pytest.mark.parametrize("setting", ["outpatient", "professional"])
@pytest.mark.parametrize("payer", ["commercial", "medicaid"])
def test_commercial_and_medicaid_check_payer_policies(setting: str, payer: str) -> None:
    answer = run(setting=setting, date=ON, product="Yescarta", payer=payer)
    assert "reference individual payer policies and contracts to determine payment" in notes_text(answer)


@pytest.mark.parametrize("setting", ["outpatient", "professional"])
def test_allogeneic_is_38999_with_the_seed_notes(setting: str) -> None:
    answer = run(setting=setting, date=ON, product="allogeneic")
    assert [c.code for c in answer.codes if c.line == "admin" and c.system == "CPT"] == ["38999"]
    assert "0540T" not in codes_of(answer, "CPT") and "38228" not in codes_of(answer, "CPT")
    unlisted = item(answer, "CPT", "38999")
    assert unlisted.description == "Unlisted procedure, hemic or lymphatic system"
    pay = [p for p in answer.payment if p.code == "38999"]
    if setting == "outpatient":
        assert pay and "lowest paying APC in the applicable APC range" in pay[0].description
    else:  # issue 13: APCs are an OPPS notion; the PFS claim's unlisted code is priced by the MAC
        assert pay and "does not apply" in pay[0].description and "no national PFS fee" in pay[0].description
    text = notes_text(answer)
    assert "HIPAA code sets" in text and "other payers may request additional information" in text
    assert "refer to their contracts" in text
    assert "merely approximates" in text  # footnote 4
    assert any("ama-cpt-2023" in n.sources for n in answer.notes)
    if setting == "outpatient":
        assert ("revenue", "0874") in {(c.system, c.code) for c in answer.codes if c.line == "admin"}


def test_outpatient_admin_description_is_the_seeds(kb: KB) -> None:
    for code in ("0540T", "38228"):
        row = kb.code("CPT", code)
        assert row is not None
        want = "Chimeric antigen receptor T-cell (CAR-T) therapy; CAR-T cell administration, autologous"
        assert row.description == want
    assert kb.code("CPT", "0540T") is not None and kb.code("CPT", "0540T", dt.date(2024, 12, 31)) is not None
    assert kb.code("CPT", "0540T", dt.date(2025, 1, 1)) is None  # "Removed 12/31/2024"


# ------------------------------------------------------------------ professional column
@pytest.mark.parametrize("day", ["2024-06-01", "2025-03-01"])
def test_professional_status_a_footnote_5(day: str) -> None:
    answer = run(setting="professional", date=day, product="Breyanzi")
    mpfs = [p for p in answer.payment if p.status == "MPFS" and p.code in ("0540T", "38228")]
    assert [p.value for p in mpfs] == ["A"]
    assert "separately paid" in mpfs[0].description and "RVU" in mpfs[0].description
    assert "cms-mpfs-status" in mpfs[0].sources and SEED in mpfs[0].sources


# ------------------------------------------------------------------ footnote 1
def test_footnote_1_drg_018_assigned(kb: KB) -> None:
    answer = run(setting="inpatient", date=ON, product="Abecma")
    drg = [p for p in answer.payment if p.kind == "grouping"]
    assert [(p.system, p.code) for p in drg] == [("MS-DRG", "018")]
    assert drg[0].description == "Chimeric Antigen Receptor (CAR) T-cell and Other Immunotherapies"
    assert kb.policy("drg-018-exists", dt.date(2025, 3, 1)) is not None


@pytest.mark.parametrize(("facts", "adjusted"), [
    ({"clinical_trial": "this-product"}, True),
    ({"expanded_access": True}, True),
    ({"product_acquisition": "no-cost"}, True),
    ({"clinical_trial": "different-product"}, False),
    ({}, False),
])
def test_footnote_1_payment_adjustment(facts: dict[str, Any], adjusted: bool) -> None:
    answer = run(setting="inpatient", date=ON, product="Yescarta", **facts)
    flags = {p.adjusted for p in answer.payment if p.kind == "payment-adjustment"}
    assert flags == {adjusted}
    if facts.get("clinical_trial") == "different-product":
        text = " ".join(p.description for p in answer.payment)
        assert "full MS-DRG 018 payment" in text


def test_footnote_1_z006_on_trial_claims() -> None:
    for trial in ("this-product", "different-product"):
        answer = run(setting="inpatient", date=ON, product="Yescarta", clinical_trial=trial)
        assert "Z00.6" in codes_of(answer, "ICD-10-CM")


@pytest.mark.parametrize(("day", "cc90"), [("2022-09-30", False), ("2022-10-01", True)])
def test_footnote_1_expanded_access_condition_code_90(day: str, cc90: bool) -> None:
    answer = run(setting="inpatient", date=day, product="Kymriah", expanded_access=True)
    assert ("90" in codes_of(answer, "condition")) is cc90
    note = item(answer, "note", "Expand Acc Use")
    assert note.where is not None and "NTE02" in note.where
    assert "cms-r10571cp" in note.sources and SEED in note.sources
    if cc90:
        assert "fr-2022-16472" in item(answer, "condition", "90").sources
    else:
        assert "note alone" in notes_text(answer)


def test_footnote_1_paper_claim_remark_fl80() -> None:
    answer = run(setting="inpatient", date="2021-12-01", product="Kymriah", expanded_access=True, claim_form="paper")
    assert item(answer, "note", "Expand Acc Use").where == "UB-04 FL 80 (Remarks)"
    answer = run(setting="inpatient", date=ON, product="Kymriah", clinical_trial="different-product",
                 claim_form="paper")
    assert item(answer, "note", "Diff Prod Clin Trial").where == "UB-04 FL 80 (Remarks)"


def test_footnote_1_diff_prod_clin_trial_note() -> None:
    answer = run(setting="inpatient", date=ON, product="Breyanzi", clinical_trial="different-product")
    note = item(answer, "note", "Diff Prod Clin Trial")
    assert note.where is not None and "NTE02" in note.where and SEED in note.sources
    # not when the product was free: that case is adjusted
    answer = run(setting="inpatient", date=ON, product="Breyanzi", clinical_trial="different-product",
                 product_acquisition="no-cost")
    assert "Diff Prod Clin Trial" not in codes_of(answer, "note")


@pytest.mark.parametrize("payer", ["commercial", "medicaid"])
def test_footnote_1_commercial_medicaid_inpatient_check_contracts(payer: str) -> None:
    answer = run(setting="inpatient", date=ON, product="Breyanzi", payer=payer)
    assert "check their contracts or agreements" in notes_text(answer)


# ------------------------------------------------------------------ footnote 3 (KX) and Notes 1-2
def test_footnote_3_kx_on_professional_medicare_in_rems_period() -> None:
    answer = run(setting="professional", date=ON, product="Yescarta")
    kx = item(answer, "modifier", "KX")
    assert kx.line == "admin" and "cms-mm12177" in kx.sources and SEED in kx.sources


def test_footnote_3_broader_wording_kept_as_disagreeing_source() -> None:
    answer = run(setting="outpatient", date=ON, product="Yescarta")
    assert "KX" not in codes_of(answer, "modifier")
    disagree = [w for w in answer.warnings if w.kind == "sources-disagree"]
    assert len(disagree) == 1 and SEED in disagree[0].sources and "ngs-kx-faq" in disagree[0].sources


def test_note_1_no_38999_for_autologous_collection() -> None:
    answer = run(setting="outpatient", date=ON, product="Yescarta")
    assert "Do not report unlisted code 38999 for cell collection" in notes_text(answer)
    assert "38999" not in codes_of(answer, "CPT")
    note = next(n for n in answer.notes if "38999" in n.message)
    assert "ncci-manual" in note.sources and note.confidence == "unverified"
    assert any(w.kind == "weak-evidence" and "38999" in w.message for w in answer.warnings)


def test_note_2_revenue_codes_since_2019_04_01(kb: KB) -> None:
    for code in ("0871", "0872", "0873", "0874"):
        row = kb.code("revenue", code)
        assert row is not None and row.effective_from == dt.date(2019, 4, 1)
        assert kb.code("revenue", code, dt.date(2019, 3, 31)) is None
    for code in ("0871", "0872", "0873"):
        row = kb.code("revenue", code)
        assert row is not None and "nubc-cell-gene-2020" in row.sources and SEED in row.sources


def test_seed_is_a_registered_source(kb: KB) -> None:
    seed = kb.source(SEED)
    assert seed.kind == "coding-guide" and seed.date == "2025-04-01"
    for source_id in ("cms-r10571cp", "fr-2022-16472", "nubc-cell-gene-2020", "cms-mm12177", "cms-mpfs-status",
                      "ama-cpt-2023", "ncci-manual"):
        assert source_id in kb.sources  # every address the seed cites
