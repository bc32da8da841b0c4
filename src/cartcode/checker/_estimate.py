"""The Medicare payment estimate of one inpatient claim, once grouped (issue 15, item 4).

:func:`claim_estimate` feeds :func:`cartcode.payment.estimate_inpatient` from the claim: the MS-DRG
the grouper computed, the discharge date (else the statement through date, as the grouper reads
it), the claim's charges (its total charge, else the sum of its line charges), the product it names
(for NTAP), and whether the MS-DRG 018 payment adjustment applies, read from the claim's codes by
:meth:`cartcode.checker._context.Ctx.drg018_adjustment` - the same facts recommend's decisions use
(Z00.6 unless a purchased product and a trial of a different product, expanded access, a product not
purchased in the usual manner). Hospital values (wage index, cost-to-charge ratios, IME, DSH) are
not on a claim, so the estimate is the national one and says so.

Only inpatient claims checked with grouping on get here (the engine asks for it after grouping),
so outpatient and professional claims never pay for it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    from cartcode.checker._context import Ctx
    from cartcode.grouping import GroupingResult

# Discharge statuses (837I CL103, UB-04 FL 17) of an acute care transfer, 42 CFR 412.4(b): to a
# short-term hospital (02; 82 with a planned readmission) or a critical access hospital (66; 94).
ACUTE_TRANSFER: Final = frozenset({"02", "66", "82", "94"})
# Discharges that are post-acute care transfers when the MS-DRG is one of CMS's qualifying DRGs,
# 42 CFR 412.4(c): SNF (03, 61 swing bed), an IPPS-excluded hospital or unit (05, 62, 63, 65), home
# health (06), hospice (50, 51), and their planned-readmission codes.
POST_ACUTE_TRANSFER: Final = frozenset(
    {"03", "05", "06", "50", "51", "61", "62", "63", "65", "83", "85", "86", "89", "90", "91", "93"}
)
_PAYERS: Final = frozenset({"medicare", "medicare-advantage", "medicaid", "commercial"})


def claim_charges(ctx: Ctx) -> tuple[Decimal | None, str | None]:
    """The claim's charges and where they came from: the total charge, else the sum of the line charges."""
    claim = ctx.claim
    if claim.total_charge is not None:
        return claim.total_charge, "the claim's total charge"
    charges = [line.charge for line in claim.lines if line.charge is not None]
    if charges:
        return sum(charges, Decimal(0)), "the sum of the claim's line charges"
    return None, None


def claim_estimate(ctx: Ctx, grouping: GroupingResult) -> dict[str, Any] | None:
    """The report's ``estimate`` of an inpatient claim (Estimate.to_json(), the shape of recommend's);
    None when the claim could not be grouped (its ``grouping`` says why: no MS-DRG, no estimate)."""
    from cartcode.payment import estimate_inpatient

    claim = ctx.claim
    day = ctx.grouping_view.input.discharge_date
    if grouping.drg is None or day is None:
        return None
    reasons = ctx.drg018_adjustment() if grouping.drg == ctx.ix.k.car_t_drg else []
    charges, charges_from = claim_charges(ctx)
    products = ctx.specific_products()
    payer = claim.payer if claim.payer in _PAYERS else "medicare"
    status = claim.patient_status
    est = estimate_inpatient(
        grouping.drg, day, charges=charges, adjustment=bool(reasons),
        adjustment_reason="; ".join(reasons) if reasons else None, product=products[0] if products else None,
        transfer=status in ACUTE_TRANSFER, payer=payer, kb=ctx.kb,
    )
    for item in est.inputs:
        if item.name == "covered charges" and charges_from is not None:
            item.note = charges_from
    if claim.payer == "other" or (claim.payer is None and not ctx.medicare):
        est.warnings.insert(0, "The claim does not name Medicare as its payer: these are Medicare fee-for-service "
                               "amounts, for comparison.")
    if status in POST_ACUTE_TRANSFER:
        est.warnings.append(
            f"Discharge status {status} is a post-acute care transfer when the MS-DRG is one of CMS's qualifying "
            "DRGs (42 CFR 412.4(c)); the estimate does not model transfers and shows the full MS-DRG payment.")
    return est.to_json()
