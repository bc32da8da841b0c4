"""CART301 admin-on-0874."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, PREP_ROLES, Ctx, replace
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART301", "admin-on-0874", severity=Severity.ERROR,
    sources=["astct-2025-04", "cgs-cope22092", "bcbsnd-car-t"], settings=INSTITUTIONAL,
    needs=["line:admin", "line:unlisted"],
)
def admin_on_0874(ctx: Ctx) -> Iterator[Hit]:
    """The CAR-T administration code on a revenue code other than 0874.

    ## What it checks
    Institutional lines with the CAR-T administration code (0540T, 38228, or 38999 on a CAR-T
    claim when it is not on a collection or processing revenue code) whose revenue code is not
    0874 (Cell/Gene Therapy - Infusion of Modified Cells), on dates when 0874 exists (from
    4/1/2019).

    ## Why is this bad?
    The seed table puts the administration charge on revenue code 0874 in every setting, and the
    MACs' outpatient mapping pairs 0540T / 38228 with 0874. On another revenue code the line does
    not map to the administration APC and the cost lands in the wrong cost centre.

    ## Fix
    Change the line's revenue code to 0874.

    ## Fix safety
    Safe: the procedure code says what the line is.

    ## References
    - astct-2025-04 (revenue code 0874 for the administration)
    - cgs-cope22092 (CGS: 0540T on 0874)
    - bcbsnd-car-t (NUBC 0874 "Infusion of Modified Cells")
    """
    car_t = None
    admin_rev = ctx.ix.k.admin_rev
    for lf in ctx.lines:
        row = lf.row
        if row is None or lf.rev == admin_rev:
            continue
        is_admin = row.role == ADMIN and lf.system == "CPT"
        if not is_admin and lf.code == "38999":
            if car_t is None:
                car_t = ctx.is_car_t()
            rev_row = ctx.ix.any_row("revenue", lf.rev) if lf.rev else None
            is_admin = car_t and not (rev_row is not None and rev_row.role in PREP_ROLES)
        if not is_admin or ctx.ix.row_on("revenue", admin_rev, lf.date) is None:
            continue  # 0874 did not exist yet (NUBC codes from 4/1/2019): nothing to ask for
        number = lf.line.number
        if lf.rev is None:
            yield Hit(
                f"line {number}: the administration code {lf.code} has no revenue code; use {admin_rev}",
                ctx.line_loc(lf),
                ((lf.system or "CPT", lf.code or ""),),
                fix=None,
            )
            continue
        yield Hit(
            f"line {number}: the administration code {lf.code} is on revenue code {lf.rev}; it belongs on {admin_rev}",
            ctx.line_loc(lf, "revenue_code"),
            (("revenue", lf.rev), (lf.system or "CPT", lf.code or "")),
            replace("revenue", lf.rev, admin_rev, safe=True, line=number),
        )
