"""CART504 payer-only-condition-zc."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fix
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART504", "payer-only-condition-zc", severity=Severity.ERROR,
    sources=["hhs-cr13926"], settings=INSTITUTIONAL,
    needs=["conditions"],
)
def payer_only_condition_zc(ctx: Ctx) -> Iterator[Hit]:
    """The payer-only condition code ZC reported by the provider.

    ## What it checks
    Institutional claims carrying condition code ZC.

    ## Why is this bad?
    CR 13926 (implemented 7/7/2025): the Medicare FISS applies payer-only condition code ZC
    itself to MS-DRG 018 cases where the product was purchased and the trial is of a different
    product. Payer-only codes are not reported by providers; providers keep following the CR
    11879 coding (Z00.6 plus the "Diff Prod Clin Trial" note).

    ## Fix
    Remove ZC; for a different-product trial, report Z00.6 and the "Diff Prod Clin Trial" note.

    ## Fix safety
    Safe: a provider never reports ZC.

    ## References
    - hhs-cr13926 (CR 13926)
    """
    k = ctx.ix.k
    zc = ctx.condition(k.payer_only_cc)
    if zc is None:
        return
    yield Hit(
        f"condition code {zc.code} is payer-only (FISS applies it); providers do not report it - use {k.trial_dx} "
        f"and the \"{k.diff_note}\" note for a trial of a different product",
        zc.loc,
        (("condition", zc.code),),
        fix(remove=[("condition", zc.code)], safe=True, title=f"Remove condition code {zc.code}"),
    )
