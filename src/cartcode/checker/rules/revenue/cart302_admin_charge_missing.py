"""CART302 admin-charge-missing."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, PRODUCT_ROLES, Ctx
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART302", "admin-charge-missing", severity=Severity.WARNING,
    sources=["astct-2025-04"], settings=INSTITUTIONAL,
    needs=["car-t-pcs", "line:admin", "line:product"], unless=["line:admin-rev"],
)
def admin_charge_missing(ctx: Ctx) -> Iterator[Hit]:
    """A CAR-T claim with no administration charge on revenue code 0874.

    ## What it checks
    Inpatient claims with a CAR-T administration ICD-10-PCS code, and outpatient claims with a
    CAR-T product or administration code, that have no line on revenue code 0874.

    ## Why is this bad?
    Footnote 2 of the seed table: the hospital "should report a procedure charge for the cell
    administration whether inpatient at the bedside or outpatient". Without it the
    administration's cost is missing from the claim (and from the data CMS sets rates with).

    ## Fix
    Add a line on revenue code 0874 with the administration charge (outpatient: with the
    administration CPT code).

    ## Fix safety
    No automatic fix: the charge amount is the hospital's.

    ## References
    - astct-2025-04 (footnote 2)
    """
    admin_rev = ctx.ix.k.admin_rev
    if any(lf.rev == admin_rev for lf in ctx.lines):
        return
    day = ctx.pcs_date if ctx.setting == "inpatient" else ctx.claim.statement_to or ctx.claim.statement_from
    if day is not None and ctx.ix.row_on("revenue", admin_rev, day) is None:
        return  # before NUBC created 0874 (4/1/2019)
    if ctx.setting == "inpatient":
        if not ctx.pcs_admin:
            return
        proc = ctx.pcs_admin[0][0]
        yield Hit(
            f"the claim reports the CAR-T administration ({proc.code}) but no administration charge on revenue "
            f"code {admin_rev}",
            ctx.claim_loc("lines") or proc.loc,
        )
        return
    car_t = [lf for lf in ctx.lines if lf.row is not None and (lf.row.role in PRODUCT_ROLES or lf.row.role == ADMIN)]
    if car_t:
        yield Hit(
            f"the claim bills CAR-T but has no administration line on revenue code {admin_rev}",
            ctx.line_loc(car_t[0]),
        )
