"""CART505 product-name-remark."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART505", "product-name-remark", severity=Severity.INFO,
    sources=["fcso-ncd-11024"], settings=["inpatient"],
    needs=["car-t-pcs"],
)
def product_name_remark(ctx: Ctx) -> Iterator[Hit]:
    """An inpatient Medicare CAR-T claim with no remark naming the product (First Coast).

    ## What it checks
    Inpatient Medicare claims with a CAR-T administration code on a discharge from 8/7/2019 and
    no billing note or remark naming a product.

    ## Why is this bad?
    First Coast (a MAC) asks for the CAR-T product name in the Remarks field on inpatient claims,
    "or the claim may be delayed". The instruction is MAC-specific, so this is information only.

    ## Fix
    Add a remark (837I NTE / UB-04 FL 80) naming the product, e.g. "Yescarta".

    ## Fix safety
    No automatic fix.

    ## References
    - fcso-ncd-11024 (First Coast NCD 110.24 page)
    """
    if not ctx.medicare or not ctx.pcs_admin:
        return
    if ctx.ix.policy_value("first-coast-product-remark", ctx.pcs_date) is not True:
        return
    for note in ctx.claim.all_notes():
        if ctx.ix.product_pattern.search(note.text):
            return
    yield Hit(
        "no remark names the CAR-T product: First Coast asks for the product name in the Remarks field "
        "(MAC-specific)",
        ctx.claim_loc("notes") or ctx.pcs_admin[0][0].loc,
    )
