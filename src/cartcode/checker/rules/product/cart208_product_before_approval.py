"""CART208 product-before-approval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity
from cartcode.model import Location


@rule(
    "CART208", "product-before-approval", severity=Severity.WARNING,
    sources=["fcso-oncology-table", "bioworld-aucatzyl"], needs=["car-t-pcs", "line:product", "notes"],
)
def product_before_approval(ctx: Ctx) -> Iterator[Hit]:
    """A product billed for a date before its FDA approval, with no clinical trial on the claim.

    ## What it checks
    Claims that name a product (product-specific ICD-10-PCS code, product HCPCS code, or a note)
    whose FDA approval date the KB holds, for a date before that approval, when the claim has
    no clinical-trial diagnosis (Z00.6) and no expanded access (condition code 90 or the note).

    ## Why is this bad?
    Before approval a product is only given in a trial or under expanded access. First Coast lists
    Carvykti's codes "on and after February 28, 2022", its approval date, although the ICD-10-PCS
    codes exist from 10/1/2021: a commercial use before approval is a wrong date, a wrong product,
    or a trial that the claim does not report.

    ## Fix
    Check the date and the product; for a trial, report Z00.6 (and condition code 30, value code
    D4); for expanded access, condition code 90 and the note.

    ## Fix safety
    No automatic fix.

    ## References
    - fcso-oncology-table (Carvykti on and after 2/28/2022)
    - bioworld-aucatzyl (Aucatzyl approved 11/8/2024)
    """
    k = ctx.ix.k
    if k.trial_dx in ctx.dx or k.ea_cc in ctx.cc or ctx.has_note(k.ea_note) is not None:
        return
    named: dict[str, Location | None] = dict(ctx.products)
    for proc, row in ctx.pcs_admin:
        if row.product:
            named.setdefault(row.product, proc.loc)
    if not named:
        return
    day = ctx.pcs_date if ctx.setting == "inpatient" else None
    if day is None:
        days = [lf.date for lf in ctx.lines if lf.date is not None]
        day = max(days) if days else ctx.claim.statement_to
    if day is None:
        return
    for pid, loc in named.items():
        product = ctx.kb.product_by_id(pid)
        approval: dt.date | None = product.fda_approval if product is not None else None
        if approval is not None and day < approval:
            yield Hit(
                f"{ctx.ix.product_label[pid]} was approved by the FDA on {approval}; on {day} it can only have been "
                "given in a clinical trial or under expanded access, which the claim does not report",
                loc,
            )
