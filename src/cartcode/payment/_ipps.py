"""Inpatient (IPPS) estimate for an MS-DRG 018 discharge: operating and capital DRG payments, the
MS-DRG 018 clinical-trial / expanded-access / no-cost-product adjustment, IME, DSH, uncompensated
care, NTAP and the cost outlier, each from the KB's rate table of the discharge's fiscal year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from cartcode.kb.loader import KB, load_kb
from cartcode.kb.schema import merge_ids
from cartcode.payment._common import (
    PAYER_WARNINGS,
    given_or_default,
    memoised,
    number,
    rate_label,
    rate_sources,
    shown,
)
from cartcode.payment._model import Component, Estimate, Input, cents, money
from cartcode.payment._rates import Rates

ONE = Decimal(1)


def _fiscal_year(day: dt.date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


# Inpatient estimates are remembered (_common.memoised) per year's table and arguments but the
# discharge date and the charges: without the hospital's operating cost-to-charge ratio no outlier is
# computed, so the discharge date only picks the rate table (and names the fiscal year) and the charges
# are only an input shown; one computation serves every discharge of the year (a batch of a million
# claims has a handful of keys). tests/payment/test_estimate.py compares them with fresh answers.


def estimate_inpatient(
    drg: str | None,
    discharge_date: dt.date,
    *,
    charges: Decimal | float | int | None = None,
    adjustment: bool = False,
    adjustment_reason: str | None = None,
    product: str | None = None,
    wage_index: Decimal | float | int | None = None,
    operating_ccr: Decimal | float | int | None = None,
    capital_ccr: Decimal | float | int | None = None,
    ime: Decimal | float | int | None = None,
    dsh: Decimal | float | int | None = None,
    uncompensated_care: Decimal | float | int | None = None,
    transfer: bool = False,
    payer: str = "medicare",
    kb: KB | None = None,
    parts: bool = True,
) -> Estimate:
    """The Medicare IPPS payment of one inpatient discharge, explained part by part.

    `drg` is the MS-DRG the claim groups to (rates are held for 018 only); `adjustment` says the
    MS-DRG 018 payment adjustment applies (Z00.6 clinical trial of the product, expanded access,
    or a product not purchased in the usual manner; recommend's decisions and the claim's codes
    decide it). `charges` are the claim's total covered charges; `operating_ccr` / `capital_ccr`
    the hospital's cost-to-charge ratios; `ime` and `dsh` the hospital's operating adjustment
    factors (e.g. 0.0512); `uncompensated_care` the per-discharge amount in dollars. Without the
    hospital's values the estimate is the national one and says so.

    `parts=False` is for callers that show only the total and whether it is complete (the batch
    claims table): the estimate may then come without its components, inputs, warnings and sources."""
    kb = kb if kb is not None else load_kb()
    table = kb.rate_table("IPPS", discharge_date)
    # _Options' fields after the charges, in its order: with whether charges were given, the cache key
    # (a plain tuple: building and hashing the frozen dataclass per claim cost more than the lookup)
    rest = (adjustment, adjustment_reason, product, wage_index, operating_ccr, capital_ccr, ime, dsh,
            uncompensated_care, transfer, payer)
    if table is None or operating_ccr is not None:
        return _compute(drg, discharge_date, _Options(charges, *rest), kb)
    key = ("IPPS", id(table), _fiscal_year(discharge_date), drg, charges is None, rest)
    template = memoised(kb, key, lambda: _compute(drg, discharge_date, _Options(charges, *rest), kb))
    if not parts:
        return template.headline()
    return _for_discharge(template, discharge_date, charges)


def _for_discharge(template: Estimate, discharge_date: dt.date, charges: Decimal | float | int | None) -> Estimate:
    """A copy of a cached estimate with this discharge's date and charges as its inputs."""
    estimate = template.copy()
    for item in estimate.inputs:
        if item.name == "discharge date":
            item.value = discharge_date.isoformat()
        elif item.name == "covered charges" and charges is not None:
            item.value = shown(number(charges))
    return estimate


@dataclass(frozen=True, slots=True)
class _Options:
    """estimate_inpatient's keyword arguments but the KB."""

    charges: Decimal | float | int | None
    adjustment: bool
    adjustment_reason: str | None
    product: str | None
    wage_index: Decimal | float | int | None
    operating_ccr: Decimal | float | int | None
    capital_ccr: Decimal | float | int | None
    ime: Decimal | float | int | None
    dsh: Decimal | float | int | None
    uncompensated_care: Decimal | float | int | None
    transfer: bool
    payer: str


def _compute(drg: str | None, discharge_date: dt.date, o: _Options, kb: KB) -> Estimate:
    """The estimate itself, computed from the rate table (see estimate_inpatient)."""
    charges, adjustment, adjustment_reason, product = o.charges, o.adjustment, o.adjustment_reason, o.product
    wage_index, operating_ccr, capital_ccr, ime, dsh = o.wage_index, o.operating_ccr, o.capital_ccr, o.ime, o.dsh
    uncompensated_care, transfer, payer = o.uncompensated_care, o.transfer, o.payer
    rates = Rates(kb, "IPPS", discharge_date)
    fy = f"FY{_fiscal_year(discharge_date)}"
    inputs: list[Input] = [Input("MS-DRG", drg or "(none)", "given"),
                           Input("discharge date", discharge_date.isoformat(), "given")]
    warnings: list[str] = []
    components: list[Component] = []
    if payer in PAYER_WARNINGS:
        warnings.append(PAYER_WARNINGS[payer])
    hospital_given = any(v is not None for v in (wage_index, operating_ccr, capital_ccr, ime, dsh, uncompensated_care))
    wi = given_or_default(inputs, "wage index", wage_index, ONE,
                          "national estimate: wage index 1.0000 (give the hospital's wage index)")
    assert wi is not None
    estimate = Estimate(setting="inpatient", system="IPPS", year=rates.year or fy, total=None, complete=False,
                        basis="hospital-specific" if hospital_given else "national", components=components,
                        inputs=inputs, warnings=warnings, sources=rates.sources)
    if not hospital_given:
        warnings.append("National estimate: no hospital values were given (wage index, cost-to-charge ratios, IME, "
                        "DSH, uncompensated care); a hospital's payment differs by its wage index and adjustments.")
    if transfer:
        warnings.append("Transfer cases are paid a per-diem up to the full MS-DRG payment; the estimate does not "
                        "model transfers and shows the full MS-DRG payment.")
    warnings.append("Not modelled: the beneficiary's Part A deductible and coinsurance, sequestration, "
                    "value-based purchasing, readmission and HAC adjustments, and hospital-specific rates (SCH/MDH).")
    if rates.table is None:
        warnings.append(f"No estimate: the KB holds no IPPS rates for {fy} ({discharge_date.isoformat()}).")
        return estimate
    if drg != "018":
        warnings.append(f"No estimate: the KB holds IPPS rates for MS-DRG 018 only, and the claim groups to "
                        f"MS-DRG {drg or '(none)'}.")
        return estimate

    # Labor share: hospitals with a wage index at most 1 use the lower share when it favours them.
    high = rates.get("labor-share")
    low = rates.get("labor-share-wage-index-at-most-1")
    share = low if wi <= ONE and low is not None else high
    if share is None:
        warnings.append(f"No estimate: the {fy} labor share is missing ({rates.why_missing('labor-share')}).")
        return estimate
    ls = rates.value(share)
    geo = ls * wi + (ONE - ls)
    geo_words = (f"(labor share {shown(ls)} x wage index {shown(wi)} + non-labor share {shown(ONE - ls)})")

    weight = rates.get("drg-weight", drg="018")
    std = rates.get("operating-standardized-amount")
    base = rates.get("drg-national-operating-payment", drg="018")
    factor = ONE
    adjustor = None
    if adjustment:
        adjustor = rates.get("trial-adjustor", drg="018")
        if adjustor is None:
            reason = adjustment_reason or "clinical trial, expanded access or no-cost product"
            warnings.append(
                f"No estimate: the MS-DRG 018 payment adjustment applies ({reason}) but its {fy} factor is missing - "
                f"{rates.why_missing('trial-adjustor', drg='018')}; the unadjusted payment would overstate it.")
            return estimate
        factor = rates.value(adjustor)
        inputs.append(Input("MS-DRG 018 payment adjustment", "applies", "given", adjustment_reason))
    adj_words = f" x the MS-DRG 018 adjustment factor {shown(factor)}" if adjustor is not None else ""

    implied_weight: Decimal | None = None
    if weight is not None and std is not None:
        w = rates.value(weight)
        operating = cents(w * factor * rates.value(std) * geo)
        formula = (f"MS-DRG 018 weight {shown(w)}{adj_words} x operating standardized amount "
                   f"{money(rates.value(std))} x {geo_words}")
        used = [weight, std, share, adjustor]
        implied_weight = w
    elif base is not None:
        b = rates.value(base)
        operating = cents(b * factor * geo)
        implied = ""
        if std is not None:
            implied_weight = b / rates.value(std)
            implied = (f"; the implied weight is {implied_weight.quantize(Decimal('0.0001'))} "
                       f"(= {money(b)} / standardized amount {money(rates.value(std))})")
        formula = (f"national MS-DRG 018 operating payment {money(b)} (weight x standardized amount, as published)"
                   f"{adj_words} x {geo_words}{implied}")
        used = [base, share, adjustor]
        warnings.append(f"The {fy} MS-DRG 018 relative weight is not in the KB "
                        f"({rates.why_missing('drg-weight', drg='018')}); the operating payment starts from the "
                        f"published national MS-DRG 018 payment instead.")
    else:
        warnings.append(f"No estimate: neither the {fy} MS-DRG 018 weight nor its national payment is in the KB "
                        f"({rates.why_missing('drg-weight', drg='018')}; "
                        f"{rates.why_missing('drg-national-operating-payment', drg='018')}).")
        if adjustor is not None:
            warnings.append(f"The {fy} MS-DRG 018 adjustment factor is {shown(factor)}: the adjusted case is paid "
                            f"{shown(factor * 100)}% of the full MS-DRG 018 rate.")
        return estimate
    components.append(Component("operating DRG payment", operating, formula, rate_sources(*used), rate_label(*used)))
    drg_payment = operating

    # the hospital's add-on factors, each a share of the operating DRG payment
    for short, name, given in (("IME", "IME (indirect medical education)", ime),
                               ("DSH", "DSH (disproportionate share, empirically justified)", dsh)):
        factor_v = given_or_default(inputs, f"{short} operating adjustment factor", given, None)
        if factor_v is not None:
            amount = cents(operating * factor_v)
            components.append(Component(name, amount,
                                        f"operating DRG payment {money(operating)} x {short} factor {shown(factor_v)}"))
            drg_payment += amount
    uc = given_or_default(inputs, "uncompensated care per discharge", uncompensated_care, None)
    if uc is not None:
        components.append(Component("uncompensated care", cents(uc),
                                    "the hospital's uncompensated care payment per discharge, as given"))

    # Capital: capital federal rate x weight (x the adjustment); the geographic adjustment factor is not modelled.
    capital_rate = rates.get("capital-federal-rate")
    capital = Decimal(0)
    if capital_rate is None:
        warnings.append(f"Capital payment left out: {rates.why_missing('capital-federal-rate')}.")
    elif implied_weight is None:
        warnings.append(f"Capital payment left out: the {fy} capital rate is in the KB but MS-DRG 018's weight is "
                        f"not (and no standardized amount to derive it from).")
    else:
        capital = cents(rates.value(capital_rate) * implied_weight * factor)
        derived = "" if weight is not None else " (implied)"
        components.append(Component(
            "capital DRG payment", capital,
            f"capital federal rate {money(rates.value(capital_rate))} x MS-DRG 018 weight{derived} "
            f"{implied_weight.quantize(Decimal('0.0001'))}{adj_words}; geographic adjustment factor 1.0",
            rate_sources(capital_rate, weight, std, base), rate_label(capital_rate, weight, std, base)))
        if wage_index is not None:
            warnings.append("The capital payment uses a geographic adjustment factor of 1.0 (not modelled).")
        drg_payment += capital

    # NTAP: only where the KB holds the product's maximum for the year.
    ntap = Decimal(0)
    if product:
        ntap_rate = rates.get("ntap-maximum", product=product)
        if ntap_rate is not None:
            ntap = cents(rates.value(ntap_rate))
            components.append(Component("NTAP (new technology add-on payment)", ntap,
                                        f"the {fy} maximum add-on of the product (paid up to this amount)",
                                        rate_sources(ntap_rate), rate_label(ntap_rate)))
            warnings.append("NTAP is shown at its maximum; CMS pays the lesser of the maximum and 75% (65% before "
                            "FY2025 for most products) of the costs above the MS-DRG payment.")
        elif any(m.name == "ntap-maximum" and m.product == product for m in rates.table.not_found):
            warnings.append(f"NTAP left out: {rates.why_missing('ntap-maximum', product=product)}.")

    # Cost outlier: (charges x CCR) - (DRG payment + NTAP + fixed-loss threshold), at the marginal cost factor.
    outlier = Decimal(0)
    charges_v = given_or_default(inputs, "covered charges", charges, None)
    op_ccr = given_or_default(inputs, "operating cost-to-charge ratio", operating_ccr, None)
    cap_ccr = given_or_default(inputs, "capital cost-to-charge ratio", capital_ccr, None)
    threshold = rates.get("fixed-loss-threshold")
    mcf = rates.get("marginal-cost-factor")
    if charges_v is None:
        warnings.append("Outlier payment not estimated: no covered charges were given.")
    elif op_ccr is None:
        warnings.append("Outlier payment not estimated: the hospital's operating cost-to-charge ratio was not given "
                        "(costs = charges x cost-to-charge ratio).")
    elif threshold is None or mcf is None:
        missing = "fixed-loss-threshold" if threshold is None else "marginal-cost-factor"
        warnings.append(f"Outlier payment not estimated: the {fy} {missing.replace('-', ' ')} is missing "
                        f"({rates.why_missing(missing)}).")
    else:
        ccr = op_ccr + (cap_ccr or Decimal(0))
        costs = cents(charges_v * ccr)
        flt = cents(rates.value(threshold) * geo)
        bar = drg_payment + ntap + flt
        excess = costs - bar
        outlier = cents(max(excess, Decimal(0)) * rates.value(mcf))
        ccr_words = f"operating CCR {shown(op_ccr)}"
        if cap_ccr is not None:
            ccr_words += f" + capital CCR {shown(cap_ccr)}"
        components.append(Component(
            "outlier payment", outlier,
            f"(costs {money(costs)} = charges {money(charges_v)} x ({ccr_words})) - (DRG payment {money(drg_payment)} "
            f"+ NTAP {money(ntap)} + fixed-loss threshold {money(rates.value(threshold))} x {geo_words} = {money(flt)})"
            f" = {money(excess)}; x marginal cost factor {shown(rates.value(mcf))}"
            + ("" if excess > 0 else " (costs are below the outlier threshold: no outlier payment)"),
            rate_sources(threshold, mcf), rate_label(threshold, mcf)))
        if cap_ccr is None:
            warnings.append("Outlier costs use the operating cost-to-charge ratio only (no capital CCR was given).")
        warnings.append("Outlier simplification: CMS splits costs and the threshold into operating and capital parts "
                        "by the two cost-to-charge ratios; the estimate compares the totals.")

    estimate.total = cents(sum((c.amount for c in components), Decimal(0)))
    estimate.complete = not any(w.startswith(("Capital payment left out", "NTAP left out")) for w in warnings)
    if not estimate.complete:
        warnings.append(f"The total {money(estimate.total)} leaves out the parts named above; "
                        "it is not the full payment.")
    estimate.sources = merge_ids(rates.sources, *(c.sources for c in components))
    return estimate
