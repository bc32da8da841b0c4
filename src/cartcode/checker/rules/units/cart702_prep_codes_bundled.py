"""CART702 prep-codes-bundled."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import PREP_ROLES, Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART702", "prep-codes-bundled", severity=Severity.INFO,
    sources=["aabb-2024-11-06", "aabb-2025-11-05", "nahri-2019-04"], settings=["outpatient", "professional"],
    needs=["line:prep"],
)
def prep_codes_bundled(ctx: Ctx) -> Iterator[Hit]:
    """Cell collection and processing codes that Medicare does not pay separately.

    ## What it checks
    Medicare outpatient and professional lines with a collection, processing or receipt code
    (0537T-0539T, 38225-38227) whose payment status on the line's date is bundled / not paid
    (OPPS status indicator B for outpatient claims, MPFS status B for professional ones).

    ## Why is this bad?
    It is not wrong - the codes are reported for tracking - but the line will not be paid: the
    steps are paid through the product (whose HCPCS descriptor includes leukapheresis and dose
    preparation). CMS kept the bundling for CY2026.

    ## Fix
    None: keep reporting the code for tracking, with its charge, and expect no separate payment.

    ## Fix safety
    No fix.

    ## References
    - aabb-2024-11-06 (CY2025 PFS: 38225-38227 bundled)
    - aabb-2025-11-05 (CY2026 PFS kept the policy)
    - nahri-2019-04 (OPPS SI B for 0537T-0539T)
    """
    if not ctx.medicare:
        return
    kind = "MPFS" if ctx.setting == "professional" else "OPPS-SI"
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role not in PREP_ROLES or lf.date is None:
            continue
        dated = ctx.ix.row_on(row.system, row.code, lf.date)
        if dated is None:
            continue
        status = next((s for s in dated.statuses if s.kind == kind and s.valid_on(lf.date)), None)
        if status is None or status.value != "B":
            continue
        yield Hit(
            f"line {lf.line.number}: {lf.code} has {kind} status B on {lf.date}: reported for tracking, not paid "
            f"separately ({status.confidence})",
            ctx.line_loc(lf, "code"),
            (("CPT", lf.code or ""),),
            sources=tuple(status.sources),
        )
