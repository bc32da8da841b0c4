"""Outpatient (OPPS) estimate: the CAR-T administration code's APC (5694) by calendar year, wage
adjusted, and the product line by ASP where the KB holds the quarter's payment limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cartcode.kb.loader import KB, load_kb
from cartcode.kb.schema import merge_ids
from cartcode.payment._common import PAYER_WARNINGS, given_or_default, memoised, rate_label, rate_sources, shown
from cartcode.payment._model import Component, Estimate, Input, cents, money
from cartcode.payment._rates import Rates

ONE = Decimal(1)


def estimate_outpatient(
    service_date: dt.date,
    *,
    product: str | None = None,
    wage_index: Decimal | float | int | None = None,
    payer: str = "medicare",
    kb: KB | None = None,
    parts: bool = True,
) -> Estimate:
    """The Medicare OPPS payment of a hospital outpatient CAR-T administration (38228, 0540T before
    2025) and, where the KB has the quarter's ASP payment limit, the product line.
    `parts=False`: only the headline (total, complete, year, basis), for callers that show no more."""
    kb = kb if kb is not None else load_kb()
    key = ("OPPS", service_date, product, wage_index, payer)
    estimate = memoised(kb, key, lambda: _compute(service_date, product, wage_index, payer, kb))
    return estimate.copy() if parts else estimate.headline()


def _compute(service_date: dt.date, product: str | None, wage_index: Decimal | float | int | None, payer: str,
             kb: KB) -> Estimate:
    rates = Rates(kb, "OPPS", service_date)
    cy = f"CY{service_date.year}"
    inputs: list[Input] = [Input("date of service", service_date.isoformat(), "given")]
    warnings: list[str] = []
    components: list[Component] = []
    if payer in PAYER_WARNINGS:
        warnings.append(PAYER_WARNINGS[payer])
    wi = given_or_default(inputs, "wage index", wage_index, ONE,
                          "national estimate: wage index 1.0000 (give the hospital's wage index)")
    assert wi is not None
    estimate = Estimate(setting="outpatient", system="OPPS", year=rates.year or cy, total=None, complete=False,
                        basis="hospital-specific" if wage_index is not None else "national",
                        components=components, inputs=inputs, warnings=warnings, sources=rates.sources)
    admin = [r for r in kb.codes_where(system="CPT", role="admin", cell_kind="autologous") if r.valid_on(service_date)]
    code = admin[0] if admin else None
    statuses = code.statuses if code else []
    apc_status = next((s for s in statuses if s.kind == "APC" and s.valid_on(service_date)), None)
    if code is None:
        warnings.append(f"No estimate: no CAR-T administration CPT code is valid on {service_date.isoformat()}.")
        return estimate
    inputs.append(Input("administration code", code.code, "defaulted", "the CAR-T administration code on the date"))
    if apc_status is None:
        warnings.append(f"Administration line left out: the KB holds no APC for {code.code} in {cy}.")
    elif rates.table is None:
        warnings.append(f"Administration line left out: the KB has no OPPS rate table for {cy}, so the APC "
                        f"{apc_status.value} payment rate is not in the KB.")
    else:
        apc_rate = rates.get("apc-payment-rate", apc=apc_status.value)
        share = rates.get("labor-share")
        if apc_rate is None:
            warnings.append(f"Administration line left out: APC {apc_status.value} ({code.code}) - "
                            f"{rates.why_missing('apc-payment-rate', apc=apc_status.value)}.")
        elif share is None and wage_index is not None:
            warnings.append(f"Administration line left out: the OPPS labor share is missing "
                            f"({rates.why_missing('labor-share')}), so the rate cannot be wage adjusted.")
        else:
            r = rates.value(apc_rate)
            ls = rates.value(share) if share is not None else None
            amount = cents(r * (ls * wi + (ONE - ls))) if ls is not None else cents(r)
            words = (f"APC {apc_status.value} national rate {money(r)} x (labor share {shown(ls)} x wage index "
                     f"{shown(wi)} + non-labor share {shown(ONE - ls)})") if ls is not None else \
                f"APC {apc_status.value} national rate {money(r)} (wage index 1.0)"
            components.append(Component(f"{code.code} administration (APC {apc_status.value})", amount, words,
                                        merge_ids(apc_status.sources, rate_sources(apc_rate, share)),
                                        rate_label(apc_rate, share)))
    if product and product not in ("autologous", "allogeneic"):
        limit = rates.get("asp-payment-limit", product=product)
        if limit is None:
            warnings.append(f"Product line left out: the KB has no ASP payment limit for the product in "
                            f"{service_date.year} Q{(service_date.month - 1) // 3 + 1} "
                            f"({rates.why_missing('asp-payment-limit')}).")
        else:
            components.append(Component("product (ASP payment limit)", cents(rates.value(limit)),
                                        "the quarter's ASP payment limit of the product HCPCS code, 1 unit",
                                        rate_sources(limit), rate_label(limit)))
    warnings.append("Not modelled: the beneficiary's Part B deductible and 20% coinsurance, sequestration, "
                    "OPPS outliers and packaged lines.")
    if components:
        estimate.total = cents(sum((c.amount for c in components), Decimal(0)))
        estimate.complete = not any(w.endswith("left out") or "left out:" in w for w in warnings)
    estimate.sources = merge_ids(rates.sources, *(c.sources for c in components))
    return estimate
