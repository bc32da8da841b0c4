"""CART404 lu-fractional-units."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from cartcode.checker._context import PRODUCT_ROLES, Ctx, fix
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity

_OFFICE = frozenset({"11", "49"})  # physician office, independent clinic


@rule(
    "CART404", "lu-fractional-units", severity=Severity.WARNING,
    sources=["rccs-car-t", "hhs-ncd-11024"], settings=["professional"],
    needs=["line:product"],
)
def lu_fractional_units(ctx: Ctx) -> Iterator[Hit]:
    """A CAR-T product billed by a Medicare physician office without the 0.1-unit LU convention.

    ## What it checks
    Professional Medicare claims in a physician office or independent clinic (place of service 11
    or 49) with a CAR-T product HCPCS code on a date from 1/1/2022, where the line lacks modifier
    LU or is not billed as 0.1 unit.

    ## Why is this bad?
    The Part B Multi-Carrier System's dollar field holds only 7 digits, so CR 12928 tells physician
    offices to bill the product in 0.1-unit fractions (units divided by 10) with modifier LU
    ("Fractionalized payment CAR T-cell therapy"). A full unit overflows the field.

    ## Fix
    Bill 0.1 unit and add modifier LU.

    ## Fix safety
    Unsafe: the units must change too, which a code fix cannot express.

    ## References
    - rccs-car-t (MM12928 details)
    - hhs-ncd-11024 (CMS guidance)
    """
    if not ctx.medicare:
        return
    claim_pos = ctx.claim.place_of_service
    lu = ctx.ix.k.lu
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role not in PRODUCT_ROLES:
            continue
        if (lf.line.place_of_service or claim_pos) not in _OFFICE:
            continue
        fraction = ctx.ix.policy_value("professional-lu-fractional-units", lf.date)
        if fraction is None:
            continue
        units = lf.line.units
        missing_lu = lu not in lf.mods
        wrong_units = units is not None and units != Decimal(str(fraction))
        if not (missing_lu or wrong_units):
            continue
        problems = [p for p, bad in ((f"modifier {lu}", missing_lu), (f"{fraction} unit", wrong_units)) if bad]
        yield Hit(
            f"line {lf.line.number}: a physician office bills {lf.code} as {fraction} unit with modifier {lu}; "
            f"missing: {' and '.join(problems)}",
            ctx.line_loc(lf, "code"),
            (("HCPCS", lf.code or ""),),
            fix(add=[("modifier", lu)], safe=False, line=lf.line.number, title=f"Add modifier {lu}")
            if missing_lu else None,
        )
