"""CART304 product-on-0891."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import PRODUCT_ROLES, Ctx, replace
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART304", "product-on-0891", severity=Severity.ERROR,
    sources=["cha-car-t-billing", "ngs-coding-edits", "bcbsnd-car-t"], settings=INSTITUTIONAL,
    needs=["line:product"],
)
def product_on_0891(ctx: Ctx) -> Iterator[Hit]:
    """The CAR-T product HCPCS code on a revenue code other than 0891.

    ## What it checks
    Institutional lines with a CAR-T product HCPCS code (Q2041, Q2042, Q2053-Q2056, Q2058, and
    the temporary C9081) whose revenue code is not 0891 (Special Processed Drugs - FDA Approved
    Cell Therapy), on dates when 0891 exists (from 4/1/2019).

    ## Why is this bad?
    CMS instructs hospitals to report the CAR-T product Q-code on revenue code 0891, and it set
    the MS-DRG 018 weight from the charges reported on 0891. On pharmacy (025X/063X) or 087X
    codes the product charge is miscounted and may be rejected.

    ## Fix
    Change the line's revenue code to 0891.

    ## Fix safety
    Safe: the HCPCS code says the line is the product.

    ## References
    - cha-car-t-billing (CMS instructions: Q-code on 0891)
    - ngs-coding-edits (NGS: inpatient product charges on 0891)
    - bcbsnd-car-t (NUBC 0891)
    """
    product_rev = ctx.ix.k.product_rev
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role not in PRODUCT_ROLES or lf.rev == product_rev:
            continue
        if ctx.ix.row_on("revenue", product_rev, lf.date) is None:
            continue  # 0891 did not exist yet (from 4/1/2019)
        number = lf.line.number
        if lf.rev is None:
            yield Hit(
                f"line {number}: the product code {lf.code} has no revenue code; use {product_rev}",
                ctx.line_loc(lf),
                (("HCPCS", lf.code or ""),),
            )
            continue
        yield Hit(
            f"line {number}: the product code {lf.code} is on revenue code {lf.rev}; it belongs on {product_rev}",
            ctx.line_loc(lf, "revenue_code"),
            (("revenue", lf.rev), ("HCPCS", lf.code or "")),
            replace("revenue", lf.rev, product_rev, safe=True, line=number),
        )
