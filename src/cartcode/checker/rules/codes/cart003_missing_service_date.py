"""CART003 missing-service-date."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART003", "missing-service-date", severity=Severity.WARNING, sources=["fcso-oncology-table", "bms-claim"],
    needs=["undated"],
)
def missing_service_date(ctx: Ctx) -> Iterator[Hit]:
    """A CAR-T code whose validity cannot be judged because the claim gives no date for it.

    ## What it checks
    ICD-10-PCS codes on a claim with neither a discharge date nor a statement end date, and
    CPT/HCPCS lines with no line date and no statement period to fall back on.

    ## Why is this bad?
    Every CAR-T code has a period: ICD-10-PCS codes are judged by the discharge date (XW033C3
    before 10/1/2021, the product-specific codes after), CPT/HCPCS codes by the line's date of
    service (0540T through 12/31/2024, 38228 from 1/1/2025). Without the date neither the payer
    nor this checker can tell whether the code is valid, and the period rules stay silent.

    ## Fix
    Add the discharge date (inpatient), the statement period, or the line's date of service.

    ## Fix safety
    No automatic fix.

    ## References
    - fcso-oncology-table (PCS codes by discharge date)
    - bms-claim (Category III codes replaced by Category I on 1/1/2025)
    """
    if ctx.claim.procedures and ctx.pcs_date is None and ctx.claim.kind == "institutional":
        yield Hit(
            "the claim has ICD-10-PCS codes but no discharge date or statement end date to judge them by",
            ctx.claim_loc("discharge_date"),
        )
    for lf in ctx.lines:
        if lf.row is not None and lf.date is None and lf.system in ("CPT", "HCPCS"):
            yield Hit(
                f"line {lf.line.number}: {lf.code} has no date of service (and the claim no statement period)",
                ctx.line_loc(lf),
                ((lf.system, lf.code or ""),),
            )
