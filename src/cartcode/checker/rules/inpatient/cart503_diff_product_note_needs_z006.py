"""CART503 diff-product-note-needs-z006."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fix
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART503", "diff-product-note-needs-z006", severity=Severity.WARNING,
    sources=["astct-2025-04", "bms-abecma-billing"], settings=["inpatient"],
    needs=["note:diff"],
)
def diff_product_note_needs_z006(ctx: Ctx) -> Iterator[Hit]:
    """The "Diff Prod Clin Trial" note on a claim without diagnosis Z00.6.

    ## What it checks
    Inpatient claims with the billing note "Diff Prod Clin Trial" but no ICD-10-CM Z00.6.

    ## Why is this bad?
    Footnote 1 describes the note for "a clinical trial of a different product (and ICD-10-CM
    diagnosis code Z00.6 on the claim)": the note only tells the MAC not to apply the adjustment
    that Z00.6 would trigger. Without Z00.6 the trial is not reported at all.

    ## Fix
    Add Z00.6 as a secondary diagnosis if the patient is in a trial; otherwise drop the note.

    ## Fix safety
    Unsafe: only the record says whether the patient is in a trial.

    ## References
    - astct-2025-04 (footnote 1)
    - bms-abecma-billing (the note)
    """
    k = ctx.ix.k
    note = ctx.has_note(k.diff_note)
    if note is None or k.trial_dx in ctx.dx:
        return
    yield Hit(
        f"the \"{k.diff_note}\" note is on the claim but diagnosis {k.trial_dx} is not",
        note.loc,
        (("note", k.diff_note),),
        fix(add=[("ICD-10-CM", k.trial_dx)], safe=False, title=f"Add diagnosis {k.trial_dx}"),
    )
