"""CART403 kx-needless-institutional."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, Ctx
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART403", "kx-needless-institutional", severity=Severity.INFO,
    sources=["ngs-kx-faq", "ngs-kx-detail", "astct-2025-04"], settings=INSTITUTIONAL,
    needs=["line:admin"],
)
def kx_needless_institutional(ctx: Ctx) -> Iterator[Hit]:
    """KX on an institutional (Part A MAC) CAR-T administration line.

    ## What it checks
    Institutional Medicare claims (inpatient or hospital outpatient, TOB 13X) with KX on the CAR-T
    administration code.

    ## Why is this bad?
    It is harmless: Part A (FISS) claims were never edited for KX - "Part A will not deny based on
    the presence or absence of modifier KX"; Part A MACs checked the facility against the REMS
    list instead. The seed's footnote 3 ("for Medicare, the administration CPT code should be
    billed with the KX modifier") is broader than the MACs' rule; the two sources disagree, so
    this is information only.

    ## Fix
    None needed; the modifier may be left or dropped.

    ## Fix safety
    No fix.

    ## References
    - ngs-kx-faq, ngs-kx-detail (NGS: Part A never edited for KX)
    - astct-2025-04 (footnote 3, the broader wording)
    """
    if not ctx.medicare:
        return  # other payers' use of KX is contract-specific
    kx = ctx.ix.k.kx
    for lf in ctx.lines:
        row = lf.row
        if row is not None and row.role == ADMIN and kx in lf.mods:
            yield Hit(
                f"line {lf.line.number}: {kx} on {lf.code} is not needed on an institutional claim: Part A was never "
                f"edited for {kx} (the guide's footnote 3 says all Medicare; the MACs say Part B only)",
                ctx.line_loc(lf, "code"),
                (("modifier", kx),),
            )
