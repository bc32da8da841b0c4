"""CART202 pcs-product-mismatch."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Fix, Severity


@rule(
    "CART202", "pcs-product-mismatch", severity=Severity.ERROR,
    sources=["astct-2025-04", "fcso-oncology-table", "tmhp-2025-05-30"], settings=["inpatient"],
    needs=["pcs:product"],
)
def pcs_product_mismatch(ctx: Ctx) -> Iterator[Hit]:
    """The ICD-10-PCS code names a different product from the one the claim bills.

    ## What it checks
    Inpatient claims with a product-specific CAR-T administration code (e.g. XW043N7,
    lisocabtagene maraleucel) while the products the claim names (product HCPCS codes on the
    lines, billing notes) do not include that product.

    ## Why is this bad?
    Each approved product has its own ICD-10-PCS code; a code for another product misreports
    the procedure and contradicts the product charge, which payers and auditors compare.

    ## Fix
    Use the code of the product actually given, for the same route; or correct the product line
    if the procedure code is the right one.

    ## Fix safety
    Unsafe: the claim does not say which of the two is wrong.

    ## References
    - astct-2025-04 (one ICD-10-PCS code pair per product)
    - fcso-oncology-table (codes by product)
    - tmhp-2025-05-30 (product HCPCS code to product crosswalk)
    """
    if not ctx.pcs_admin:
        return
    products = ctx.specific_products()
    if not products:
        return
    for proc, row in ctx.pcs_admin:
        if row.product is None or row.product in products:
            continue
        fix: Fix | None = None
        if len(products) == 1 and row.route:
            new = ctx.ix.product_pcs(products[0], row.route, ctx.pcs_date)
            if new is not None:
                fix = replace("ICD-10-PCS", proc.code, new.code, safe=False)
        named = ", ".join(ctx.ix.product_label[p] for p in products)
        yield Hit(
            f"{proc.code} is the code for {ctx.ix.product_label[row.product]}, but the claim bills {named}",
            proc.loc,
            (("ICD-10-PCS", proc.code),),
            fix,
        )
