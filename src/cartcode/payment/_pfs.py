"""Professional (PFS) estimate: 38228 from the year's RVUs x conversion factor, facility or office;
38225-38227 are bundled (not paid separately)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cartcode.kb.loader import KB, load_kb
from cartcode.kb.schema import merge_ids
from cartcode.payment._common import PAYER_WARNINGS, given_or_default, memoised, rate_label, rate_sources, shown
from cartcode.payment._model import Component, Estimate, Input, cents, money
from cartcode.payment._rates import Rates

ONE = Decimal(1)


def estimate_professional(
    service_date: dt.date,
    *,
    place_of_service: str = "facility",
    gpci: Decimal | float | int | None = None,
    payer: str = "medicare",
    kb: KB | None = None,
    parts: bool = True,
) -> Estimate:
    """The Medicare physician fee schedule payment of the CAR-T administration (38228; 0540T before
    2025): (work RVU + practice expense RVU + malpractice RVU) x GPCI x conversion factor.
    `parts=False`: only the headline (total, complete, year, basis), for callers that show no more."""
    kb = kb if kb is not None else load_kb()
    key = ("PFS", service_date, place_of_service, gpci, payer)
    estimate = memoised(kb, key, lambda: _compute(service_date, place_of_service, gpci, payer, kb))
    return estimate.copy() if parts else estimate.headline()


def _compute(service_date: dt.date, place_of_service: str, gpci: Decimal | float | int | None, payer: str,
             kb: KB) -> Estimate:
    rates = Rates(kb, "PFS", service_date)
    cy = f"CY{service_date.year}"
    inputs: list[Input] = [Input("date of service", service_date.isoformat(), "given"),
                           Input("place of service", place_of_service, "given")]
    warnings: list[str] = []
    components: list[Component] = []
    if payer in PAYER_WARNINGS:
        warnings.append(PAYER_WARNINGS[payer])
    g = given_or_default(inputs, "GPCI", gpci, ONE, "national estimate: every GPCI 1.000 (give the locality's)")
    assert g is not None
    estimate = Estimate(setting="professional", system="PFS", year=rates.year or cy, total=None, complete=False,
                        basis="hospital-specific" if gpci is not None else "national", components=components,
                        inputs=inputs, warnings=warnings, sources=rates.sources)
    if gpci is not None:
        warnings.append("One GPCI was given and applied to the work, practice expense and malpractice RVUs alike.")
    admin = [r for r in kb.codes_where(system="CPT", role="admin", cell_kind="autologous") if r.valid_on(service_date)]
    if not admin:
        warnings.append(f"No estimate: no CAR-T administration CPT code is valid on {service_date.isoformat()}.")
        return estimate
    code = admin[0].code
    inputs.append(Input("administration code", code, "defaulted", "the CAR-T administration code on the date"))
    cf = rates.get("conversion-factor")
    if cf is None:
        why = rates.why_missing("conversion-factor")
        warnings.append(f"No estimate: the {cy} PFS conversion factor is missing ({why}).")
        return estimate
    pe_name = "pe-rvu-facility" if place_of_service == "facility" else "pe-rvu-nonfacility"
    parts = [("work", "work-rvu"), ("practice expense", pe_name), ("malpractice", "mp-rvu")]
    cfv = rates.value(cf)
    for label, name in parts:
        rvu = rates.get(name, code=code)
        if rvu is None:
            warnings.append(f"{code} {label} RVU left out: {rates.why_missing(name, code=code)}.")
            continue
        value = rates.value(rvu)
        components.append(Component(
            f"{code} {label} RVU ({place_of_service if label == 'practice expense' else 'all settings'})",
            cents(value * g * cfv),
            f"{label} RVU {shown(value)} x GPCI {shown(g)} x conversion factor ${cfv}",
            rate_sources(rvu, cf), rate_label(rvu, cf)))
    for row in kb.codes_where(system="CPT", cell_kind="autologous"):
        if row.role in ("collection", "processing", "receipt") and row.valid_on(service_date):
            status = next((s for s in row.statuses if s.kind == "MPFS" and s.valid_on(service_date)), None)
            if status is not None and status.value == "B":
                components.append(Component(f"{row.code} (bundled)", Decimal(0),
                                            f"MPFS status B: bundled into {code}, not paid separately",
                                            list(status.sources), status.confidence))
    qp = rates.get("conversion-factor-qp")
    if qp is not None:
        warnings.append(f"Qualifying APM participants are paid with the conversion factor ${rates.value(qp)} "
                        f"instead of ${cfv}.")
    warnings.append("Not modelled: the beneficiary's Part B deductible and 20% coinsurance, sequestration, "
                    "and the multiple procedure and other payment modifiers.")
    if any(c.amount for c in components):  # bundled $0.00 parts alone are no payment figure
        estimate.total = cents(sum((c.amount for c in components), Decimal(0)))
        estimate.complete = not any("left out" in w for w in warnings)
        if not estimate.complete:
            warnings.append(f"The total {money(estimate.total)} leaves out the RVUs named above; it is not the full "
                            "payment.")
    if estimate.total is None and components:
        warnings.append(f"No total: the KB holds no {code} RVU for {cy}; only the bundled codes are shown.")
    estimate.sources = merge_ids(rates.sources, *(c.sources for c in components))
    return estimate
