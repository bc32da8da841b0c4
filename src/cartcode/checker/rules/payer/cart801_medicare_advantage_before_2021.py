"""CART801 medicare-advantage-before-2021."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fmt_date
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART801", "medicare-advantage-before-2021", severity=Severity.WARNING,
    sources=["hhs-ma-billing", "bms-claim"], needs=["payer:ma"],
)
def medicare_advantage_before_2021(ctx: Ctx) -> Iterator[Hit]:
    """A CAR-T claim to a Medicare Advantage plan from before the plans paid for CAR-T.

    ## What it checks
    CAR-T claims (a CAR-T administration or product code) whose payer is a Medicare Advantage
    plan, on a date before the KB's `ma-pays-car-t` policy starts (January 2021).

    ## Why is this bad?
    CMS's billing instructions of 10/24/2019: until January 2021, CAR-T for Medicare Advantage
    enrollees was billed to original Medicare (fee-for-service), not to the plan. A claim sent to
    the plan is denied or paid wrongly.

    ## Fix
    Bill original Medicare (the A/B MAC) for these dates of service.

    ## Fix safety
    No automatic fix: the payer is not a code.

    ## References
    - hhs-ma-billing (CMS billing instructions for MA enrollees, CAR-T)
    - bms-claim (MA plans pay from January 2021)
    """
    if ctx.claim.payer != "medicare-advantage":
        return
    day = ctx.pcs_date if ctx.setting == "inpatient" else None
    if day is None:
        days = [lf.date for lf in ctx.lines if lf.date is not None]
        day = min(days) if days else ctx.claim.statement_from
    if day is None or ctx.ix.policy_value("ma-pays-car-t", day) is True:
        return
    yield Hit(
        f"Medicare Advantage plans paid for CAR-T only from January 2021; for {fmt_date(day)} bill original Medicare",
        ctx.claim_loc("payer"),
    )
