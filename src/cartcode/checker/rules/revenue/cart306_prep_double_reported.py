"""CART306 prep-double-reported."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import PREP_ROLES, PRODUCT_ROLES, Ctx
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART306", "prep-double-reported", severity=Severity.ERROR,
    sources=["cha-car-t-billing", "cgs-cope22092"], settings=INSTITUTIONAL,
    needs=["line:prep", "line:product"],
)
def prep_double_reported(ctx: Ctx) -> Iterator[Hit]:
    """Cell collection or processing charged both inside the product charge and on its own line.

    ## What it checks
    Where the claim shows it: (a) a collection, processing or receipt code (0537T-0539T,
    38225-38227) billed on revenue code 0891, the product's revenue code - an error; (b) charged
    collection or processing lines (0871-0873 with a charge above zero) beside a product code
    whose descriptor includes "leukapheresis and dose preparation procedures" - an info reminder
    to keep those costs out of the product charge.

    ## Why is this bad?
    CMS's outpatient instructions: the pre-infusion steps go either inside the 0891 product
    charge or separately on 0871-0873 (tracking, not paid), never both. Reporting both counts the
    same cost twice.

    ## Fix
    (a) Move the step to its revenue code (0871-0873) or drop the line if its cost is inside the
    product charge. (b) Make sure the product charge excludes the separately reported steps.

    ## Fix safety
    No automatic fix.

    ## References
    - cha-car-t-billing (CMS instructions of 5/28/2019 restated)
    - cgs-cope22092 (CGS: 0537T-0539T on 0871-0873, tracking only)
    """
    product = None
    product_rev = ctx.ix.k.product_rev
    prep_revs = set(ctx.ix.k.prep_rev.values())
    for lf in ctx.lines:
        row = lf.row
        if row is not None and row.role in PRODUCT_ROLES:
            product = product or lf
        if row is not None and row.role in PREP_ROLES and lf.rev == product_rev:
            yield Hit(
                f"line {lf.line.number}: {lf.code} ({row.role}) is billed on {product_rev}, the product's revenue "
                "code: the step is either inside the product charge or on its own revenue code, not both",
                ctx.line_loc(lf, "revenue_code"),
                (("CPT", lf.code or ""), ("revenue", product_rev)),
            )
    if product is None or product.row is None or "leukapheresis" not in product.row.description.lower():
        return
    for lf in ctx.lines:
        if lf.rev in prep_revs and lf.line.charge is not None and lf.line.charge > 0:
            yield Hit(
                f"line {lf.line.number}: a charged {lf.rev} line beside {product.code}, whose descriptor includes "
                "leukapheresis and dose preparation: make sure the product charge does not include this step too",
                ctx.line_loc(lf, "charge"),
                (("revenue", lf.rev),),
                severity=Severity.INFO,
            )
