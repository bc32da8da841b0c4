"""CART506 drg-not-018."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART506", "drg-not-018", severity=Severity.WARNING,
    sources=["astct-2025-04", "healthleaders-fy2021", "ngs-coding-edits"], settings=["inpatient"],
    needs=["drg"],
)
def drg_not_018(ctx: Ctx) -> Iterator[Hit]:
    """An inpatient CAR-T claim that reports an MS-DRG other than 018.

    ## What it checks
    Inpatient claims that carry an MS-DRG, have a CAR-T administration ICD-10-PCS code and a
    discharge from 10/1/2020, and report a DRG other than 018.

    ## Why is this bad?
    Footnote 1: "MS-DRG 018 is assigned for inpatient CAR-T administration based on reporting a
    CAR-T administration ICD-10-PCS procedure code" (pre-MDC, from FY2021). A different DRG on
    the claim means the procedure codes or the grouping are wrong.

    ## Fix
    Check the procedure coding; regroup. The payer's grouper assigns the DRG from the codes.

    ## Fix safety
    Unsafe: the DRG follows from the codes, not the other way round.

    ## References
    - astct-2025-04 (footnote 1)
    - healthleaders-fy2021 (MS-DRG 018 created for FY2021)
    - ngs-coding-edits (NGS)
    """
    drg = ctx.claim.drg
    wanted = ctx.ix.k.car_t_drg
    if drg is None or drg.code == wanted or not ctx.drg018():
        return
    yield Hit(
        f"the claim reports MS-DRG {drg.code}, but a CAR-T administration code groups to MS-DRG {wanted}",
        drg.loc,
        (("MS-DRG", drg.code),),
        replace("MS-DRG", drg.code, wanted, safe=False),
    )
