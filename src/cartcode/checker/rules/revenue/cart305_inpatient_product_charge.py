"""CART305 inpatient-product-charge."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART305", "inpatient-product-charge", severity=Severity.ERROR,
    sources=["ngs-coding-edits", "astct-2025-04"], settings=["inpatient"],
    needs=["car-t-pcs"],
)
def inpatient_product_charge(ctx: Ctx) -> Iterator[Hit]:
    """An inpatient CAR-T claim without the product charge on 0891, or with only a token charge.

    ## What it checks
    Inpatient claims with a CAR-T administration ICD-10-PCS code on a discharge from 10/1/2020
    (MS-DRG 018) where nothing says the product was free (no Z00.6, condition code 90 or "Expand
    Acc Use" note): (a) no product line (revenue code 0891/0892 or a product HCPCS code) - an
    error; (b) on Medicare claims, the product charge is $1.00 or less - a warning. When the product was free, whether
    to send a token line or none is not settled by the sources, so neither is flagged.

    ## Why is this bad?
    Per NGS, inpatient (TOB 11X) claims report the CAR-T product as line-item covered charges
    above a $1.00 token on 0891 (and/or 0892), unless the product was obtained at no cost. A
    token charge tells the Pricer the product was free, which triggers the MS-DRG 018 payment
    adjustment; a missing product line understates the case.

    ## Fix
    Add the product charge on revenue code 0891: the hospital's charge when purchased, a token
    charge of $1.00 or less when the product was free.

    ## Fix safety
    No automatic fix: the amount is the hospital's.

    ## References
    - ngs-coding-edits (NGS: charges above a $1.00 token on 0891/0892)
    - astct-2025-04 (footnote 1: the payment adjustment)
    """
    if not ctx.pcs_admin or ctx.pcs_date is None:
        return
    token = ctx.ix.policy_value("inpatient-product-token-max", ctx.pcs_date)
    if token is None:
        return
    lines = ctx.product_charge()  # 0891/0892 lines, and product HCPCS lines on another code (CART304's)
    k = ctx.ix.k
    free_reason = k.trial_dx in ctx.dx or k.ea_cc in ctx.cc or ctx.has_note(k.ea_note) is not None
    if not lines:
        if free_reason:
            return  # a free product: whether to send a token line or none is unverified (facts.md T4)
        yield Hit(
            f"the claim reports a CAR-T administration but no product charge on revenue code {k.product_rev} "
            f"(a charge above ${token:.2f}, or a token charge of ${token:.2f} or less if the product was free)",
            ctx.claim_loc("lines") or ctx.pcs_admin[0][0].loc,
        )
        return
    charges = [lf.line.charge for lf in lines if lf.line.charge is not None]
    if not charges or sum(charges, Decimal(0)) > Decimal(str(token)):
        return
    if not free_reason and ctx.medicare:  # the token convention and the adjustment are Medicare's (IPPS)
        yield Hit(
            f"the product charge on revenue code {lines[0].rev} is a token (${token:.2f} or less), which tells the "
            "payer the product was free and triggers the MS-DRG 018 payment adjustment; nothing on the claim "
            "says why (clinical trial, expanded access): report the product charge if it was purchased",
            ctx.line_loc(lines[0], "charge"),
            (("revenue", lines[0].rev or ""),),
            severity=Severity.WARNING,
        )
