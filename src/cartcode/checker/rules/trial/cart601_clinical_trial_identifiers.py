"""CART601 clinical-trial-identifiers."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fix
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Fix, Severity
from cartcode.model import Location


@rule(
    "CART601", "clinical-trial-identifiers", severity=Severity.ERROR,
    sources=["iu-orafaq-69-6", "ufl-ctsi-medicare", "bms-abecma-billing"], settings=INSTITUTIONAL,
    needs=["z00.6", "conditions", "values"],
)
def clinical_trial_identifiers(ctx: Ctx) -> Iterator[Hit]:
    """A Medicare clinical-trial claim missing one of Z00.6, condition code 30 or value code D4.

    ## What it checks
    Institutional Medicare claims that carry any of the clinical-trial identifiers - diagnosis
    Z00.6, condition code 30, value code D4 - on a date the `clinical-trial-identifiers` policy
    holds (from 1/1/2014), and lack another. When the claim has the "Diff Prod Clin Trial" note
    (the CAR-T is not the trial's product) a missing condition code 30 or D4 is a warning.

    ## Why is this bad?
    The Claims Processing Manual (ch. 32 section 69.6) asks for all three on clinical-trial
    claims: Z00.6 as a secondary diagnosis, condition code 30, and the 8-digit NCT number in value
    code D4 (mandatory since 1/1/2014: claims without it are returned to the provider). BMS
    states Medicare requires all three on CAR-T trial claims.

    ## Fix
    Add the missing identifiers. Condition code 30 is added automatically when both Z00.6 and D4
    are present.

    ## Fix safety
    Adding condition code 30 next to Z00.6 and D4 is safe. Adding Z00.6 is unsafe (a diagnosis is
    a clinical statement); D4 needs the trial's NCT number, so it has no fix.

    ## References
    - iu-orafaq-69-6 (Claims Processing Manual ch. 32 section 69.6, quoted)
    - ufl-ctsi-medicare (Medicare clinical-trial claim coding)
    - bms-abecma-billing (BMS: Z00.6, CC 30 and VC D4 on CAR-T trial claims)
    """
    if not ctx.medicare:
        return
    k = ctx.ix.k
    z006 = ctx.diagnosis(k.trial_dx)
    cc30 = ctx.condition(k.trial_cc)
    d4 = ctx.value(k.trial_vc)
    present = [x for x in (z006, cc30, d4) if x is not None]
    if not present or len(present) == 3:
        return
    day = ctx.pcs_date or ctx.claim.statement_from
    if day is None or ctx.ix.policy_value("clinical-trial-identifiers", day) is not True:
        return
    anchor: Location | None = present[0].loc
    softer = Severity.WARNING if ctx.has_note(k.diff_note) is not None else None
    if z006 is None:
        yield Hit(
            f"clinical-trial claim (condition code {k.trial_cc} / value code {k.trial_vc}) without diagnosis "
            f"{k.trial_dx}",
            anchor,
            (("ICD-10-CM", k.trial_dx),),
            fix(add=[("ICD-10-CM", k.trial_dx)], safe=False, title=f"Add diagnosis {k.trial_dx}"),
        )
    if cc30 is None:
        safe_fix: Fix = fix(
            add=[("condition", k.trial_cc)], safe=z006 is not None and d4 is not None,
            title=f"Add condition code {k.trial_cc}",
        )
        yield Hit(
            f"clinical-trial claim without condition code {k.trial_cc} (qualifying clinical trial)",
            anchor,
            (("condition", k.trial_cc),),
            safe_fix,
            severity=softer,
        )
    if d4 is None:
        yield Hit(
            f"clinical-trial claim without value code {k.trial_vc} (the 8-digit NCT number): Medicare returns such "
            "claims",
            anchor,
            (("value", k.trial_vc),),
            severity=softer,
        )
