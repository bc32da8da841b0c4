"""CART205 no-38999-for-autologous-prep."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import PREP_ROLES, Ctx, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Fix, Severity


@rule(
    "CART205", "no-38999-for-autologous-prep", severity=Severity.ERROR,
    sources=["astct-2025-04", "ncci-manual"],
    needs=["line:unlisted"],
)
def no_38999_for_autologous_prep(ctx: Ctx) -> Iterator[Hit]:
    """Unlisted 38999 reported for autologous cell collection or processing.

    ## What it checks
    Lines with 38999 whose revenue code is a cell collection, processing or receipt code
    (0871, 0872, 0873), or that sit on a claim with an autologous product while another line
    carries the administration. Claims that name an allogeneic product are left alone: Note 1
    sends allogeneic collection and processing to footnote 4 (no specific code: 38999).

    ## Why is this bad?
    Note 1 of the seed table: "Do not report unlisted code 38999 for cell collection or cell
    processing services for autologous CAR-T services now that more specific codes are
    available" (NCCI): 0537T-0539T from 2019, 38225-38227 from 1/1/2025.

    ## Fix
    Report the specific code of the step on the line's date: collection 38225 (0537T), processing
    38226 (0538T), receipt and preparation 38227 (0539T).

    ## Fix safety
    Unsafe: the step is read from the revenue code, and the Category I mapping by revenue code is
    inferred.

    ## References
    - astct-2025-04 (Note 1)
    - ncci-manual (NCCI policy manual, cited by the guide)
    """
    kinds = {ctx.ix.cell_kind.get(p) for p in ctx.products}
    kinds.update(row.cell_kind for _, row in ctx.pcs_admin)
    if "allogeneic" in kinds:
        return  # Note 1: "for allogeneic, see footnote 4" - the unlisted code is the allogeneic route
    autologous_only = "autologous" in kinds and "allogeneic" not in kinds
    admin_elsewhere = any(lf.row is not None and lf.row.role == "admin" for lf in ctx.lines)
    for lf in ctx.lines:
        if lf.code != "38999":
            continue
        rev_row = ctx.ix.row_on("revenue", lf.rev, lf.date) if lf.rev else None
        role = rev_row.role if rev_row is not None and rev_row.role in PREP_ROLES else None
        if role is None and not (autologous_only and admin_elsewhere and lf.rev != ctx.ix.k.admin_rev):
            continue
        fix: Fix | None = None
        if role is not None:
            specific = [
                r for r in ctx.ix.codes_where(system="CPT", role=role, cell_kind="autologous")
                if lf.date is None or r.valid_on(lf.date)
            ]
            if len(specific) == 1:
                fix = replace("CPT", "38999", specific[0].code, safe=False, line=lf.line.number)
        step = role or "collection or processing"
        yield Hit(
            f"line {lf.line.number}: 38999 must not be reported for autologous cell {step}: specific codes exist"
            + (f" ({fix.add[0].code} on this date)" if fix else ""),
            ctx.line_loc(lf, "code"),
            (("CPT", "38999"),),
            fix,
        )
