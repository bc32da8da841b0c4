"""CART701 once-per-day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Final

from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity

# The KB roles of the "per day" codes of the policy: collection (0537T, 38225) and
# administration (0540T, 38228) - "once per day regardless of collections or bags".
_ROLES: Final = frozenset({"collection", "admin"})


@rule(
    "CART701", "once-per-day", severity=Severity.ERROR,
    sources=["ohiohima-2025-09", "icd10monitor-cart"], settings=["outpatient", "professional"],
    needs=["line:admin", "line:prep"],
)
def once_per_day(ctx: Ctx) -> Iterator[Hit]:
    """38225 or 38228 (0537T, 0540T) reported more than once per day.

    ## What it checks
    Lines with the CAR-T collection or administration CPT code (38225, 38228; 0537T, 0540T
    before 2025) with more units than the `once-per-day-38225-38228` policy allows (1), or the
    same code on two lines for the same date.

    ## Why is this bad?
    38225 is reported once per day regardless of the number of collections, and 38228 once per
    day regardless of the units or bags infused. Extra units are denied as unlikely (MUE) or
    overpaid.

    ## Fix
    Report one unit per code per day.

    ## Fix safety
    No automatic fix (units are not a code; merging lines changes charges).

    ## References
    - ohiohima-2025-09 (38225 and 38228 once per day)
    - icd10monitor-cart (the same rule for 0537T / 0540T)
    """
    seen: dict[tuple[str, dt.date | None], int] = {}
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role not in _ROLES or lf.system != "CPT" or row.cell_kind != "autologous":
            continue
        limit = ctx.ix.policy_value("once-per-day-38225-38228", lf.date)
        if limit is None:
            continue
        units = lf.line.units
        code = lf.code or ""
        if units is not None and units > Decimal(limit):
            yield Hit(
                f"line {lf.line.number}: {code} is reported at most {limit} per day; this line has {units} units",
                ctx.line_loc(lf, "units"),
                (("CPT", code),),
            )
        key = (code, lf.date)
        if key in seen:
            yield Hit(
                f"line {lf.line.number}: {code} is already on line {seen[key]} for {lf.date}; it is reported once "
                "per day",
                ctx.line_loc(lf, "code"),
                (("CPT", code),),
            )
        else:
            seen[key] = lf.line.number
