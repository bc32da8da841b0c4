"""CART201 product-specific-pcs-required."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fmt_date, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART201", "product-specific-pcs-required", severity=Severity.ERROR,
    sources=["astct-2025-04", "fcso-oncology-table"], settings=["inpatient"],
    needs=["pcs:generic"],
)
def product_specific_pcs_required(ctx: Ctx) -> Iterator[Hit]:
    """The generic autologous ICD-10-PCS code is used although the product has its own code.

    ## What it checks
    Inpatient claims whose CAR-T administration procedure is a generic autologous code (XW033C7 /
    XW043C7, or XW033C3 / XW043C3 before 10/1/2021) while the claim names a product (its HCPCS
    code on any line, or a billing note naming it) that has a product-specific ICD-10-PCS code for
    the same route on the discharge date. (A generic code not valid on the discharge date at all is
    CART101's, which then offers the product's code.)

    ## Why is this bad?
    The guide reserves the generic code for "an autologous CAR-T product, such as those currently
    under trial, where there is no product-specific ICD-10-PCS code to describe the product".
    Reporting it for an approved product misstates the procedure; CMS tracks the products (and
    NTAP eligibility) by their own codes.

    ## Fix
    Replace the generic code with the product's code for the same route (peripheral or central
    vein), e.g. XW033C7 -> XW033H7 for Yescarta.

    ## Fix safety
    Safe when the claim names exactly one product; with several products named there is no fix.

    ## References
    - astct-2025-04 (the seed table: generic code only when no product-specific code exists)
    - fcso-oncology-table (First Coast: codes by product and date)
    """
    if not ctx.pcs_admin:
        return
    products = ctx.specific_products()
    if not products:
        return
    day = ctx.pcs_date
    for proc, row in ctx.pcs_admin:
        if row.product is not None or row.cell_kind != "autologous" or not row.route:
            continue
        if day is not None and ctx.ix.row_on("ICD-10-PCS", proc.code, day) is None:
            continue  # not valid on the date at all: CART101 reports it, with the product's code as the fix
        wanted = {p: ctx.ix.product_pcs(p, row.route, day) for p in products}
        own = {p: r for p, r in wanted.items() if r is not None and ctx.ix.cell_kind.get(p) == "autologous"}
        if not own:
            continue  # e.g. a discharge before the product had a code: the generic code was right
        if len(products) == 1:
            pid, new = next(iter(own.items()))
            yield Hit(
                f"{proc.code} is the generic autologous code, but the claim names {ctx.ix.product_label[pid]}, "
                f"whose own code on {fmt_date(day)} is {new.code}",
                proc.loc,
                (("ICD-10-PCS", proc.code),),
                replace("ICD-10-PCS", proc.code, new.code, safe=True),
                sources=tuple(new.sources),
            )
        else:
            names = ", ".join(f"{ctx.ix.product_label[p]} ({r.code})" for p, r in own.items())
            yield Hit(
                f"{proc.code} is the generic autologous code, but the claim names products with their own codes: "
                f"{names}",
                proc.loc,
                (("ICD-10-PCS", proc.code),),
            )
