"""CART401 kx-required-part-b."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, Ctx, fix
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART401", "kx-required-part-b", severity=Severity.ERROR,
    sources=["cms-mm12177", "ngs-kx-detail", "ngs-kx-faq", "astct-2025-04"], settings=["professional"],
    needs=["line:admin"],
)
def kx_required_part_b(ctx: Ctx) -> Iterator[Hit]:
    """Medicare Part B CAR-T administration without modifier KX during the REMS period.

    ## What it checks
    Professional claims to original Medicare (Part B) with the CAR-T administration code (0540T,
    38228) on a date of service when the KB's `kx-part-b-required` policy holds (8/7/2019 through
    the end of the FDA REMS, 6/25/2025) and no KX modifier on the line.

    ## Why is this bad?
    CR 12177 (MM12177): KX on the Part B administration code attests that the service was
    performed in a REMS-certified facility; Part B MACs edit for it and deny the line without it.
    The seed's footnote 3 says the same for "Medicare" in general; the MACs apply it to Part B
    (professional) claims only (see CART403).

    ## Fix
    Add modifier KX to the administration line.

    ## Fix safety
    Safe: the modifier is an attestation the facility could make for every CAR-T site in the
    REMS period (CAR-T was only given in certified facilities).

    ## References
    - cms-mm12177 (CR 12177)
    - ngs-kx-detail, ngs-kx-faq (NGS: Part B only)
    - astct-2025-04 (footnote 3)
    """
    if not ctx.medicare:
        return
    kx = ctx.ix.k.kx
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role != ADMIN or lf.system != "CPT" or kx in lf.mods:
            continue
        if ctx.ix.policy_value("kx-part-b-required", lf.date) is not True:
            continue
        yield Hit(
            f"line {lf.line.number}: Medicare Part B requires modifier {kx} on {lf.code} for dates of service during "
            f"the REMS period (through {_rems_end(ctx)}); {lf.date} is in it",
            ctx.line_loc(lf, "code"),
            (("CPT", lf.code or ""),),
            fix(add=[("modifier", kx)], safe=True, line=lf.line.number, title=f"Add modifier {kx}"),
        )


def _rems_end(ctx: Ctx) -> str:
    rows = ctx.kb.policy_rows("kx-part-b-required")
    ends = [r.effective_to for r in rows if r.value is True and r.effective_to is not None]
    return ends[0].isoformat() if ends else "the end of the REMS"
