"""CART402 kx-not-required-after-rems."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, Ctx, fix
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART402", "kx-not-required-after-rems", severity=Severity.INFO,
    sources=["fcso-ncd-11024", "fda-rems-2025"], settings=["professional"],
    needs=["line:admin"],
)
def kx_not_required_after_rems(ctx: Ctx) -> Iterator[Hit]:
    """KX on a Medicare Part B CAR-T administration line after the REMS ended.

    ## What it checks
    Professional Medicare claims with KX on the administration code (38228) on a date of service
    when the `kx-part-b-required` policy no longer holds (from 6/26/2025, when the FDA eliminated
    the REMS for the approved autologous CAR-T products).

    ## Why is this bad?
    It is not wrong, only no longer needed: "Part B MACs shall no longer require modifier KX to be
    appended to CAR T-cell therapy claims". The exact date of service the MAC edit stopped was not
    published; the KB sets it at the end of the REMS (unverified), so this is information only.

    ## Fix
    The modifier may be dropped.

    ## Fix safety
    Unsafe (not applied by --fix): keeping KX does no harm, and the cut-over date is unverified.

    ## References
    - fcso-ncd-11024 (First Coast: KX no longer required)
    - fda-rems-2025 (FDA ended the REMS, 6/26/2025)
    """
    if not ctx.medicare:
        return
    kx = ctx.ix.k.kx
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role != ADMIN or kx not in lf.mods:
            continue
        if ctx.ix.policy_value("kx-part-b-required", lf.date) is not False:
            continue
        yield Hit(
            f"line {lf.line.number}: modifier {kx} is no longer required on {lf.code} after the REMS ended "
            f"(date of service {lf.date})",
            ctx.line_loc(lf, "code"),
            (("modifier", kx),),
            fix(remove=[("modifier", kx)], safe=False, line=lf.line.number, title=f"Remove modifier {kx}"),
        )
