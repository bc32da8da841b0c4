"""The estimate engine: the FY2026 national MS-DRG 018 figure, the FY2021 17% rule, outlier
arithmetic on a worked example, missing-rate warnings, and every rate cited from the KB."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pytest

from cartcode.kb.loader import KB, bundled_kb_dir, load_kb, load_kb_from
from cartcode.payment import estimate_inpatient, estimate_outpatient, estimate_professional

FY2026 = dt.date(2025, 12, 15)
FY2021 = dt.date(2021, 3, 1)


@pytest.fixture(scope="module")
def kb_with_fy2021_weight(tmp_path_factory: pytest.TempPathFactory) -> KB:
    """A test KB with a made-up FY2021 weight and standardized amount (test numbers, not rates)."""
    target = tmp_path_factory.mktemp("kb") / "kb"
    shutil.copytree(bundled_kb_dir(), target)
    path = target / "payment_rates.yaml"
    text = path.read_text()
    anchor = '      - {name: fixed-loss-threshold, value: "29064"'
    label = "sources: [facts-md], confidence: unverified}\n"
    extra = ('      - {name: drg-weight, drg: "018", value: "40.0000", ' + label +
             '      - {name: operating-standardized-amount, value: "6000.00", ' + label)
    path.write_text(text.replace(anchor, extra + anchor, 1))
    return load_kb_from(target)


def test_fy2026_national_ms_drg_018_payment_is_the_published_314231() -> None:
    est = estimate_inpatient("018", FY2026)
    assert est.year == "FY2026" and est.basis == "national"
    operating = next(c for c in est.components if c.name == "operating DRG payment")
    assert operating.amount == Decimal("314231.00")
    assert est.total == Decimal("314231.00")
    assert "avalere-fy2027-proposed" in operating.sources
    # the implied weight is shown: 314,231 / 6,752.61
    assert "46.5347" in operating.formula
    assert any(i.name == "wage index" and i.origin == "defaulted" for i in est.inputs)


def test_fy2026_missing_parts_are_named() -> None:
    est = estimate_inpatient("018", FY2026)
    text = " ".join(est.warnings)
    assert not est.complete
    assert "Capital payment left out" in text and "capital standard federal rate" in text
    assert "relative weight is not in the KB" in text
    assert "Outlier payment not estimated: no covered charges" in text


def test_wage_index_adjusts_the_labor_share() -> None:
    est = estimate_inpatient("018", FY2026, wage_index=1.1)
    operating = next(c for c in est.components if c.name == "operating DRG payment")
    # 314,231 x (0.66 x 1.1 + 0.34) = 314,231 x 1.066
    assert operating.amount == (Decimal(314231) * Decimal("1.066")).quantize(Decimal("0.01"))
    assert est.basis == "hospital-specific"


def test_fy2021_17_percent_rule(kb_with_fy2021_weight: KB) -> None:
    full = estimate_inpatient("018", FY2021, kb=kb_with_fy2021_weight)
    trial = estimate_inpatient("018", FY2021, adjustment=True, adjustment_reason="clinical trial",
                               kb=kb_with_fy2021_weight)
    full_op = next(c for c in full.components if c.name == "operating DRG payment").amount
    trial_op = next(c for c in trial.components if c.name == "operating DRG payment").amount
    assert full_op == Decimal("240000.00")  # 40 x 6,000
    assert trial_op == (full_op * Decimal("0.17")).quantize(Decimal("0.01"))
    assert "adjustment factor 0.17" in next(c for c in trial.components if c.name == "operating DRG payment").formula


def test_fy2021_bundled_kb_names_the_missing_weight_and_the_17_percent() -> None:
    est = estimate_inpatient("018", FY2021, adjustment=True)
    assert est.total is None
    text = " ".join(est.warnings)
    assert "MS-DRG 018 weight" in text and "17% of the full MS-DRG 018 rate" in text


def test_adjustment_without_the_years_factor_gives_no_total() -> None:
    est = estimate_inpatient("018", FY2026, adjustment=True, adjustment_reason="expanded access")
    assert est.total is None and est.components == []
    assert any("FY2026 factor is missing" in w for w in est.warnings)


def test_outlier_worked_example() -> None:
    # FY2026, wage index 1: DRG payment 314,231.00; costs = 1,500,000 x 0.30 = 450,000.00;
    # threshold = 314,231.00 + 0 + 40,397.00 = 354,628.00; excess 95,372.00; x 0.80 = 76,297.60.
    est = estimate_inpatient("018", FY2026, charges=1_500_000, operating_ccr=0.30)
    outlier = next(c for c in est.components if c.name == "outlier payment")
    assert outlier.amount == Decimal("76297.60")
    assert est.total == Decimal("314231.00") + Decimal("76297.60")
    assert "hhs-outlier-testimony-2003" in outlier.sources
    assert "$450,000.00" in outlier.formula and "$40,397.00" in outlier.formula


def test_no_outlier_below_the_threshold() -> None:
    est = estimate_inpatient("018", FY2026, charges=1_000_000, operating_ccr=0.30)
    assert next(c for c in est.components if c.name == "outlier payment").amount == Decimal("0.00")


def test_outlier_needs_a_cost_to_charge_ratio() -> None:
    est = estimate_inpatient("018", FY2026, charges=1_500_000)
    assert not any(c.name == "outlier payment" for c in est.components)
    assert any("cost-to-charge ratio was not given" in w for w in est.warnings)


def test_ime_and_dsh_and_uncompensated_care() -> None:
    est = estimate_inpatient("018", FY2026, ime=0.05, dsh=0.02, uncompensated_care=1000)
    amounts = {c.name.split(" (")[0]: c.amount for c in est.components}
    assert amounts["IME"] == Decimal("15711.55") and amounts["DSH"] == Decimal("6284.62")
    assert amounts["uncompensated care"] == Decimal("1000.00")


def test_transfers_are_named() -> None:
    assert any("transfers" in w for w in estimate_inpatient("018", FY2026, transfer=True).warnings)


def test_other_drgs_and_years_are_not_guessed() -> None:
    assert estimate_inpatient("016", FY2026).total is None
    assert estimate_inpatient("018", dt.date(2019, 5, 1)).total is None
    fy2027 = estimate_inpatient("018", dt.date(2026, 11, 1))
    assert fy2027.total is None and any("labor share" in w for w in fy2027.warnings)


def test_fy2023_capital_needs_a_weight() -> None:
    est = estimate_inpatient("018", dt.date(2023, 1, 10))
    assert next(c for c in est.components if c.name == "operating DRG payment").amount == Decimal("247939.00")
    assert any("capital rate is in the KB but MS-DRG 018's weight is not" in w for w in est.warnings)


def test_ntap_missing_amount_is_named() -> None:
    est = estimate_inpatient("018", dt.date(2023, 1, 10), product="tecartus")
    assert any(w.startswith("NTAP left out") and "Tecartus" in w for w in est.warnings)


def test_outpatient_names_the_missing_apc_rate_and_asp() -> None:
    est = estimate_outpatient(dt.date(2025, 3, 10), product="carvykti")
    assert est.total is None
    text = " ".join(est.warnings)
    assert "APC 5694 (38228)" in text and "ASP payment limit" in text
    before = estimate_outpatient(dt.date(2024, 6, 1))
    assert any("0540T" in i.value for i in before.inputs)


def test_professional_38228_from_the_work_rvu_and_conversion_factor() -> None:
    est = estimate_professional(dt.date(2026, 3, 1))
    work = next(c for c in est.components if c.name.startswith("38228 work RVU"))
    assert work.amount == Decimal("100.20")  # 3.00 x 33.4009
    assert "rvuedge-38228" in work.sources and work.confidence == "V-low"
    assert {c.name for c in est.components} >= {"38225 (bundled)", "38226 (bundled)", "38227 (bundled)"}
    assert not est.complete and any("practice expense RVU left out" in w for w in est.warnings)
    office = estimate_professional(dt.date(2026, 3, 1), place_of_service="office", gpci=1.05)
    assert any("non-facility" in w for w in office.warnings)
    assert next(c for c in office.components if c.name.startswith("38228 work")).amount == Decimal("105.21")


def test_every_component_cites_kb_sources() -> None:
    kb = load_kb()
    estimates = [
        estimate_inpatient("018", FY2026, charges=1_500_000, operating_ccr=0.3),
        estimate_professional(dt.date(2026, 3, 1)),
    ]
    for est in estimates:
        assert est.sources and all(s in kb.sources for s in est.sources)
        for comp in est.components:
            assert comp.sources, comp.name
            assert all(s in kb.sources for s in comp.sources)


def test_json_shape() -> None:
    data = estimate_inpatient("018", FY2026).to_json()
    assert data["total"] == "314231.00" and data["currency"] == "USD"
    assert {"name", "amount", "formula", "sources"} <= set(data["components"][0])
    assert {"name", "value", "origin"} <= set(data["inputs"][0])


def test_cached_estimates_equal_fresh_ones_on_random_discharges() -> None:
    """estimate_inpatient reuses one computation per fiscal year's table and arguments (the discharge
    date and the charges only change its inputs): on random discharges its answers equal the full
    computation's, field by field, in any order of calls."""
    import random

    from cartcode.payment import _common, _ipps

    kb = load_kb()
    rng = random.Random(5)
    start = dt.date(2020, 10, 1)
    for _ in range(400):
        day = start + dt.timedelta(days=rng.randrange(365 * 7))
        kwargs = {
            "charges": rng.choice([None, rng.randrange(1, 2_000_000), Decimal(rng.randrange(100, 10**8)) / 100, 0.5]),
            "adjustment": rng.random() < 0.3,
            "adjustment_reason": rng.choice([None, "Z00.6 on the claim"]),
            "product": rng.choice([None, "tecartus", "carvykti", "yescarta"]),
            "transfer": rng.random() < 0.2,
            "payer": rng.choice(["medicare", "medicaid", "commercial"]),
            "wage_index": rng.choice([None, Decimal("0.9"), 1.1]),
            "capital_ccr": rng.choice([None, Decimal("0.05")]),
        }
        drg = rng.choice(["018", "018", "871", None])
        cached = estimate_inpatient(drg, day, kb=kb, **kwargs)  # type: ignore[arg-type]
        options = _ipps._Options(operating_ccr=None, ime=None, dsh=None, uncompensated_care=None,  # type: ignore[arg-type]
                                 **kwargs)
        fresh = _ipps._compute(drg, day, options, kb)
        assert cached.to_json() == fresh.to_json(), (drg, day, kwargs)
        head = estimate_inpatient(drg, day, kb=kb, parts=False, **kwargs)  # type: ignore[arg-type]
        assert (head.total, head.complete, head.year) == (fresh.total, fresh.complete, fresh.year)
    assert 0 < len(_common._MEMO) <= _common._MEMO_SIZE


def test_remembered_outpatient_and_professional_estimates_equal_fresh_ones() -> None:
    """estimate_outpatient / estimate_professional remember their answer per arguments (a batch's
    claims share a few dates): the answers equal a fresh computation's on random dates, and each
    caller gets its own copy (changing one changes no later answer)."""
    import random

    from cartcode.payment import _opps, _pfs

    kb = load_kb()
    rng = random.Random(7)
    days = [dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(365 * 4)) for _ in range(25)]
    for _ in range(300):
        day = rng.choice(days)
        payer = rng.choice(["medicare", "medicaid", "commercial"])
        place = rng.choice(["facility", "office"])
        gpci = rng.choice([None, Decimal("1.05")])
        got = estimate_professional(day, place_of_service=place, gpci=gpci, payer=payer, kb=kb)
        assert got.to_json() == _pfs._compute(day, place, gpci, payer, kb).to_json(), (day, place, gpci, payer)
        got.warnings.append("changed by a caller")
        got.inputs[0].value = "changed"
        product = rng.choice([None, "yescarta", "kymriah"])
        wage = rng.choice([None, 0.9])
        out = estimate_outpatient(day, product=product, wage_index=wage, payer=payer, kb=kb)
        assert out.to_json() == _opps._compute(day, product, wage, payer, kb).to_json(), (day, product, wage, payer)
        out.warnings.clear()
        out.components.clear()
        for full, head in ((estimate_professional(day, place_of_service=place, gpci=gpci, payer=payer, kb=kb),
                            estimate_professional(day, place_of_service=place, gpci=gpci, payer=payer, kb=kb,
                                                  parts=False)),
                           (estimate_outpatient(day, product=product, wage_index=wage, payer=payer, kb=kb),
                            estimate_outpatient(day, product=product, wage_index=wage, payer=payer, kb=kb,
                                                parts=False))):
            assert (head.total, head.complete, head.year, head.basis) == (full.total, full.complete, full.year,
                                                                           full.basis)
            assert not head.components and not head.warnings
