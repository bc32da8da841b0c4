"""CART501 drg018-trial-adjustment."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fix
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART501", "drg018-trial-adjustment", severity=Severity.WARNING,
    sources=["astct-2025-04", "ngs-coding-edits", "noridian-mm14247", "bms-abecma-billing"], settings=["inpatient"],
    needs=["z00.6"],
)
def drg018_trial_adjustment(ctx: Ctx) -> Iterator[Hit]:
    """MS-DRG 018 with Z00.6 and a purchased product, but no "Diff Prod Clin Trial" note.

    ## What it checks
    Medicare inpatient claims that group to MS-DRG 018 (a CAR-T administration ICD-10-PCS code on
    a discharge from 10/1/2020) with diagnosis Z00.6, a product charge above the $1.00 token
    (product purchased in the usual manner) and no "Diff Prod Clin Trial" billing note.

    ## Why is this bad?
    Footnote 1: the IPPS payment adjustment applies to MS-DRG 018 claims with Z00.6. When the
    hospital bought the product and the trial is of a different product, the adjustment must not
    apply and the hospital gets the full MS-DRG 018 payment - but only if it tells the MAC, with
    NTE02 "Diff Prod Clin Trial" (or the remark on a paper claim). Without the note the claim is
    paid as a trial of this product (FY2021: the relative weight times 0.17).

    ## Fix
    If the trial is of a different product, add the billing note "Diff Prod Clin Trial" (837I
    NTE02; paper: FL 80 remarks). If the trial is of this product, the adjustment is right and the
    product charge should be a token.

    ## Fix safety
    Unsafe: only the hospital knows which product the trial is of.

    ## References
    - astct-2025-04 (footnote 1)
    - ngs-coding-edits (NGS: the adjustment trigger)
    - noridian-mm14247 (CR 14247: the payment scenarios)
    - bms-abecma-billing (the note text)
    """
    k = ctx.ix.k
    if not ctx.medicare or k.trial_dx not in ctx.dx or not ctx.drg018():
        return
    if ctx.has_note(k.diff_note) is not None:
        return
    if not ctx.product_purchased():
        return  # a token charge: the product was free, and the adjustment is meant to apply
    where = "the FL 80 remarks" if ctx.claim.claim_form == "paper" else "billing note NTE02"
    dx = ctx.diagnosis(k.trial_dx)
    yield Hit(
        f"MS-DRG {k.car_t_drg} with {k.trial_dx} and a purchased product: the clinical-trial payment adjustment "
        f"will apply. If the trial is of a different product, add \"{k.diff_note}\" in {where} to get the full payment",
        dx.loc if dx is not None else ctx.claim_loc(),
        (("ICD-10-CM", k.trial_dx),),
        fix(add=[("note", k.diff_note)], safe=False, title=f'Add the note "{k.diff_note}"'),
    )
