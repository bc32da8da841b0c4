"""The Medicare payment estimate of one claim (issue 15, item 4): inpatient once grouped,
outpatient and professional when the claim bills the CAR-T administration code.

:func:`claim_estimate` feeds :func:`cartcode.payment.estimate_inpatient` from the claim: the MS-DRG
the grouper computed, the discharge date (else the statement through date, as the grouper reads
it), the claim's charges (its total charge, else the sum of its line charges), the product it names
(for NTAP), and whether the MS-DRG 018 payment adjustment applies, read from the claim's codes by
:meth:`cartcode.checker._context.Ctx.drg018_adjustment` - the same facts recommend's decisions use
(Z00.6 unless a purchased product and a trial of a different product, expanded access, a product not
purchased in the usual manner). Hospital values (wage index, cost-to-charge ratios, IME, DSH) are
not on a claim, so the estimate is the national one and says so.

Only inpatient claims checked with grouping on get here (the engine asks for it after grouping).

:func:`line_estimate` does the same for outpatient (:func:`cartcode.payment.estimate_outpatient`:
the administration APC by calendar year, the product line by ASP) and professional claims
(:func:`cartcode.payment.estimate_professional`: 38228's RVUs x the conversion factor, facility or
office by the place of service; 38225-38227 bundled) - the functions recommend's estimate calls,
fed from the claim: the date of the first administration line (38228, or 0540T before 2025), the
product the claim names, the place of service of that line (else the claim's). It is always on
(grouping plays no part) and cheap: a claim without an administration line returns at once, from
the triggers the engine computed anyway.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from cartcode.payment._model import cents

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
# Places of service paid at the PFS facility rate (CMS, Medicare Claims Processing Manual ch. 12,
# 20.4.2): telehealth, hospital outpatient and inpatient, emergency room, ASC, SNF, hospice, ...;
# every other place of service is paid at the non-facility (office) rate.
FACILITY_POS: Final = frozenset(
    {"02", "10", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)
_NOT_MEDICARE: Final = ("The claim does not name Medicare as its payer: these are Medicare fee-for-service "
                        "amounts, for comparison.")


def claim_charges(ctx: Ctx) -> tuple[Decimal | None, str | None]:
    """The claim's charges and where they came from: the total charge, else the sum of the line charges."""
    claim = ctx.claim
    if claim.total_charge is not None:
        return claim.total_charge, "the claim's total charge"
    charges = [line.charge for line in claim.lines if line.charge is not None]
    if charges:
        return sum(charges, Decimal(0)), "the sum of the claim's line charges"
    return None, None


def claim_estimate(ctx: Ctx, grouping: GroupingResult, *, parts: bool = True) -> dict[str, Any] | None:
    """The report's ``estimate`` of an inpatient claim (Estimate.to_json(), the shape of recommend's);
    None when the claim could not be grouped (its ``grouping`` says why: no MS-DRG, no estimate).
    `parts=False`: only its ``total`` and ``complete`` (what the batch claims table shows)."""
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
        transfer=status in ACUTE_TRANSFER, payer=payer, kb=ctx.kb, parts=parts,
    )
    if not parts:
        return {"total": str(cents(est.total)) if est.total is not None else None, "complete": est.complete}
    for item in est.inputs:
        if item.name == "covered charges" and charges_from is not None:
            item.note = charges_from
    if _not_medicare(ctx):
        est.warnings.insert(0, _NOT_MEDICARE)
    if status in POST_ACUTE_TRANSFER:
        est.warnings.append(
            f"Discharge status {status} is a post-acute care transfer when the MS-DRG is one of CMS's qualifying "
            "DRGs (42 CFR 412.4(c)); the estimate does not model transfers and shows the full MS-DRG payment.")
    return est.to_json()


def _not_medicare(ctx: Ctx) -> bool:
    payer = ctx.claim.payer
    return payer == "other" or (payer is None and not ctx.medicare)


def line_estimate(ctx: Ctx, *, parts: bool = True) -> dict[str, Any] | None:
    """The report's ``estimate`` of an outpatient or professional claim that bills the CAR-T
    administration code (OPPS or PFS, Estimate.to_json()); None for any other claim, or when the
    administration line has no date (the rules say so)."""
    if ctx.setting not in ("outpatient", "professional") or "line:admin" not in ctx.triggers:
        return None
    from cartcode.checker._context import ADMIN

    admin = next((lf for lf in ctx.lines if lf.row is not None and lf.row.role == ADMIN and lf.system == "CPT"
                  and lf.row.cell_kind == "autologous" and lf.date is not None), None)
    if admin is None or admin.date is None:
        return None
    from cartcode.payment import estimate_outpatient, estimate_professional

    claim = ctx.claim
    day = admin.date
    payer = claim.payer if claim.payer in _PAYERS else "medicare"
    products = ctx.specific_products()
    pos_note: str | None = None
    if ctx.setting == "outpatient":
        est = estimate_outpatient(day, product=products[0] if products else None, payer=payer, kb=ctx.kb,
                                  parts=parts)
    else:
        pos = admin.line.place_of_service or claim.place_of_service
        place = "facility" if pos is None or pos in FACILITY_POS else "office"
        rate = "facility" if place == "facility" else "non-facility"
        pos_note = f"place of service {pos} on the claim: the PFS {rate} rate" if pos else None
        est = estimate_professional(day, place_of_service=place, payer=payer, kb=ctx.kb, parts=parts)
        if pos is None:
            for item in est.inputs:
                if item.name == "place of service":
                    item.origin, item.note = "defaulted", "the claim names no place of service: the facility rate"
    if not parts:  # what follows changes inputs and warnings only
        return {"total": str(cents(est.total)) if est.total is not None else None, "complete": est.complete}
    billed = admin.code
    for item in est.inputs:
        if item.name == "place of service" and pos_note is not None:
            item.note = pos_note
        elif item.name == "administration code":
            if item.value == billed:
                item.origin, item.note = "given", f"billed on the claim on {day.isoformat()}"
            else:
                est.warnings.insert(0, f"The claim bills {billed} on {day.isoformat()}, when the administration code "
                                       f"is {item.value} (see the findings): the estimate is for {item.value}.")
    if _not_medicare(ctx):
        est.warnings.insert(0, _NOT_MEDICARE)
    return est.to_json()
