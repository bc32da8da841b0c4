"""CART603 trial-line-modifiers."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, PRODUCT_ROLES, Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART603", "trial-line-modifiers", severity=Severity.WARNING,
    sources=["iu-orafaq-69-6", "ufl-ctsi-medicare"], settings=["outpatient"],
    needs=["z00.6", "conditions", "values"],
)
def trial_line_modifiers(ctx: Ctx) -> Iterator[Hit]:
    """Outpatient clinical-trial CAR-T lines without modifier Q0 or Q1.

    ## What it checks
    Hospital outpatient Medicare claims with clinical-trial identifiers (Z00.6, condition code
    30 or value code D4) whose CAR-T administration or product lines carry neither Q0
    (investigational service) nor Q1 (routine service in a trial).

    ## Why is this bad?
    Per the Claims Processing Manual (ch. 32 section 69.6), outpatient clinical-trial lines carry
    Q0 or Q1 so the contractor can tell investigational items from routine costs (inpatient claims
    need no modifiers).

    ## Fix
    Add Q0 to investigational items and Q1 to routine services.

    ## Fix safety
    No automatic fix: which one applies is a clinical-research billing decision.

    ## References
    - iu-orafaq-69-6 (section 69.6 quoted)
    - ufl-ctsi-medicare (Q0/Q1 modifiers)
    """
    if not ctx.medicare:
        return
    k = ctx.ix.k
    if k.trial_dx not in ctx.dx and k.trial_cc not in ctx.cc and ctx.value(k.trial_vc) is None:
        return
    if ctx.has_note(k.diff_note) is not None:
        return  # the CAR-T is not the trial's item
    mods = k.trial_mods
    for lf in ctx.lines:
        row = lf.row
        if row is None or not (row.role == ADMIN or row.role in PRODUCT_ROLES):
            continue
        if any(m in lf.mods for m in mods):
            continue
        yield Hit(
            f"line {lf.line.number}: {lf.code} on an outpatient clinical-trial claim has none of "
            f"{' / '.join(mods)} (investigational / routine service in a trial)",
            ctx.line_loc(lf, "code"),
            ((lf.system or "CPT", lf.code or ""),),
        )
