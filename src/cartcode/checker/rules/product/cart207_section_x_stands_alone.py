"""CART207 section-x-stands-alone."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fix
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity

# Administration-section codes a coder might add for the same cell infusion: transfusion of bone
# marrow / cord blood / hematopoietic stem cells (6th character G, X, Y) and introduction of
# "other therapeutic substance" (3E0?3GC). Other 3E0 codes (e.g. the lymphodepleting chemotherapy
# 3E03305) are separate procedures and are not flagged.
_BROADER = ("30233G", "30233X", "30233Y", "30243G", "30243X", "30243Y", "3E033GC", "3E043GC")


@rule(
    "CART207", "section-x-stands-alone", severity=Severity.WARNING,
    sources=["icdlist-newtech"], settings=["inpatient"],
    needs=["pcs:other"],
)
def section_x_stands_alone(ctx: Ctx) -> Iterator[Hit]:
    """A broader transfusion or introduction code reported beside the CAR-T section X code.

    ## What it checks
    Inpatient claims with a CAR-T administration code (section X) that also report a
    peripheral or central vein code from the Administration section for the same cells: a stem
    cell or bone marrow transfusion (30233G/X/Y.., 30243G/X/Y..) or "introduction of other
    therapeutic substance" (3E033GC, 3E043GC).

    ## Why is this bad?
    The ICD-10-PCS guideline for section X: the New Technology code stands alone; do not add a
    broader code from another section for the same procedure.

    ## Fix
    Remove the broader code.

    ## Fix safety
    Unsafe: the other code may describe a different infusion (e.g. a blood transfusion in the
    same stay).

    ## References
    - icdlist-newtech (the section X guideline)
    """
    if not ctx.pcs_admin:
        return
    for proc in ctx.claim.procedures:
        if proc.code.startswith(_BROADER):
            yield Hit(
                f"{proc.code} is a broader administration code; the CAR-T section X code stands alone",
                proc.loc,
                (("ICD-10-PCS", proc.code),),
                fix(remove=[("ICD-10-PCS", proc.code)], safe=False, title=f"Remove {proc.code}"),
            )
