"""CART303 prep-revenue-code."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import PREP_ROLES, Ctx, replace
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Fix, Severity


@rule(
    "CART303", "prep-revenue-code", severity=Severity.WARNING,
    sources=["cgs-cope22092", "cha-car-t-billing", "nubc-cell-gene-2020"], settings=INSTITUTIONAL,
    needs=["line:prep"],
)
def prep_revenue_code(ctx: Ctx) -> Iterator[Hit]:
    """A cell collection, processing or receipt code on the wrong revenue code.

    ## What it checks
    Institutional lines with 0537T-0539T or 38225-38227 whose revenue code is not the NUBC code of
    the same step: collection 0871, processing before transport 0872, receipt and preparation
    after receipt 0873. (A step code on 0891 is CART306.)

    ## Why is this bad?
    Note 2 of the seed table: revenue codes for cell collection and processing have been in place
    since 4/1/2019 and all providers and payers have to use them (HIPAA code sets). The MACs map
    0537T -> 0871, 0538T -> 0872, 0539T -> 0873; 38225-38227 follow by analogy.

    ## Fix
    Put the line on the revenue code of its step.

    ## Fix safety
    Unsafe: the Category I mapping (38225-38227) is inferred from the Category III one.

    ## References
    - cgs-cope22092 (CGS: 0537T-0539T on 0871-0873)
    - cha-car-t-billing (CMS instructions restated)
    - nubc-cell-gene-2020 (NUBC codes)
    """
    by_role = ctx.ix.k.prep_rev
    for lf in ctx.lines:
        row = lf.row
        if row is None or row.role not in PREP_ROLES or lf.system != "CPT" or lf.rev in (None, ctx.ix.k.product_rev):
            continue
        wanted = by_role.get(row.role or "")
        if wanted is None or lf.rev == wanted:
            continue
        fix: Fix | None = replace("revenue", lf.rev or "", wanted, safe=False, line=lf.line.number)
        yield Hit(
            f"line {lf.line.number}: {lf.code} ({row.role}) is on revenue code {lf.rev}; the {row.role} revenue code "
            f"is {wanted}",
            ctx.line_loc(lf, "revenue_code"),
            (("revenue", lf.rev or ""), ("CPT", lf.code or "")),
            fix,
        )
