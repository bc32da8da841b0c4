"""CART101 code-outside-valid-period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Final

from cartcode.checker._context import Ctx, fmt_date, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Fix, Severity
from cartcode.kb.schema import CodeRow
from cartcode.model import Coded

# Codes whose own rules give a better message and fix (CART502 expanded access, CART504 ZC), and
# rows whose period is a CAR-T use rather than the code's life: KX exists before its CAR-T use
# (8/7/2019), MS-DRG 016 after CAR-T left it (FY2021).
_OWN_RULE_ROLES: Final = frozenset({"expanded-access", "payer-only", "rems-attestation", "pre-drg018"})


def _period(rows: tuple[CodeRow, ...]) -> str:
    first, last = rows[0].effective_from, rows[-1].effective_to
    if first and last:
        return f"valid {first} to {last}"
    if first:
        return f"valid from {first}"
    return f"valid through {last}"


def _pick(ctx: Ctx, system: str, candidates: list[CodeRow], old: CodeRow) -> tuple[CodeRow | None, bool]:
    """The replacement and whether it is safe: 1:1 is safe; for ICD-10-PCS the named product decides."""
    if len(candidates) == 1:
        return candidates[0], True
    if system == "ICD-10-PCS" and old.route:
        products = ctx.specific_products()
        if len(products) == 1:
            own = ctx.ix.product_pcs(products[0], old.route, ctx.pcs_date)
            if own is not None:
                return own, True
        generic = [c for c in candidates if c.product is None]
        if len(generic) == 1:
            return generic[0], False  # right only when the product has no code of its own
    return None, False


def _check(ctx: Ctx, coded: Coded, day: dt.date | None, line: int | None, what: str) -> Hit | None:
    if day is None:
        return None
    system, code = coded.system, coded.code
    if ctx.ix.valid(system, code, day) is not False:
        return None  # valid, or a code the KB does not hold (most diagnoses, room and board lines)
    rows = ctx.ix.rows[(system, code)]
    if rows[0].role in _OWN_RULE_ROLES:
        return None
    first, last = rows[0].effective_from, rows[-1].effective_to
    if last is not None and day > last:
        links = [s for r in rows for s in r.successors]
        state = f"was deleted after {last}"
    elif first is not None and day < first:
        links = [p for r in rows for p in r.predecessors]
        state = f"is not valid until {first}"
    else:
        links, state = [], f"is not valid ({_period(rows)})"
    candidates = [r for r in (ctx.ix.row_on(system, c, day) for c in dict.fromkeys(links)) if r is not None]
    new, safe = _pick(ctx, system, candidates, rows[-1])
    fix: Fix | None = None
    if new is not None:
        fix = replace(system, code, new.code, safe=safe, line=line)
        advice = f"use {new.code}" + ("" if safe else " (check the product: it decides the code)")
    elif candidates:
        advice = "use one of " + ", ".join(c.code for c in candidates) + " (the product decides)"
    else:
        advice = "no code in the KB replaces it"
    sources = tuple(dict.fromkeys(s for r in rows for s in r.sources))
    return Hit(
        f"{system} {code} {state}; on the {what} {fmt_date(day)} {advice}",
        coded.loc,
        ((system, code),),
        fix,
        sources=sources,
    )


@rule(
    "CART101", "code-outside-valid-period", severity=Severity.ERROR,
    sources=["fcso-oncology-table", "astct-2025-04", "bms-claim"],
)
def code_outside_valid_period(ctx: Ctx) -> Iterator[Hit]:
    """A code used outside its valid period (deleted, or not yet effective), with its successor or predecessor.

    ## What it checks
    Every code the knowledge base holds, against the period the claim's own dates put it in:
    ICD-10-PCS codes and claim-level codes (condition, value, MS-DRG) by the discharge date (else
    the statement end), CPT/HCPCS, revenue codes and modifiers by the line's date of service.
    Examples: 0540T after 12/31/2024 (use 38228), 38228 before 1/1/2025 (use 0540T), XW033C3 on a
    discharge from 10/1/2021 (use the product-specific code), XW033H7 before 10/1/2021 (use
    XW033C3), MS-DRG 018 before FY2021.

    ## Why is this bad?
    Payers edit every code against the code set in force on the date: a deleted or not yet valid
    code is rejected or the line denied, and the administration is not paid.

    ## Fix
    Replace the code with its successor (deleted code) or predecessor (code not yet valid), as
    linked in the KB, when one is valid on the date.

    ## Fix safety
    Safe when the link is one to one (0540T -> 38228, XW033H7 -> XW033C3). When a deleted code
    has several successors (XW033C3 -> the generic or a product-specific code) the fix is safe
    only when the claim names the product (a product HCPCS code on a line, or a note naming it);
    otherwise the generic code is offered as an unsafe fix.

    ## References
    - fcso-oncology-table (ICD-10-PCS CAR-T codes by discharge date)
    - astct-2025-04 (38228 effective 1/1/2025, 0540T removed 12/31/2024)
    - bms-claim (Category I codes replaced the Category III codes on 1/1/2025)
    """
    claim = ctx.claim
    pcs_day = ctx.pcs_date
    claim_day = pcs_day or claim.statement_from
    valid = ctx.ix.valid
    for proc in claim.procedures:
        if pcs_day is not None and valid("ICD-10-PCS", proc.code, pcs_day) is False:
            hit = _check(ctx, proc, pcs_day, None, "discharge date")
            if hit:
                yield hit
    if claim_day is not None:
        for group in (claim.diagnoses, claim.condition_codes, claim.value_codes, claim.occurrence_codes):
            for coded in group:
                if valid(coded.system, coded.code, claim_day) is False:
                    hit = _check(ctx, coded, claim_day, None, "claim date")
                    if hit:
                        yield hit
    if claim.drg is not None:
        hit = _check(ctx, claim.drg, pcs_day, None, "discharge date")
        if hit:
            yield hit
    for lf in ctx.lines:  # the lines with a KB code or a cell therapy revenue code
        line = lf.line
        number = line.number
        if lf.date is None:
            continue
        if line.procedure is not None:
            hit = _check(ctx, line.procedure, lf.date, number, "date of service")
            if hit:
                yield hit
        if line.revenue_code is not None:
            hit = _check(ctx, line.revenue_code, lf.date, number, "date of service")
            if hit:
                yield hit
        for mod in line.modifiers:
            hit = _check(ctx, mod, lf.date, number, "date of service")
            if hit:
                yield hit
