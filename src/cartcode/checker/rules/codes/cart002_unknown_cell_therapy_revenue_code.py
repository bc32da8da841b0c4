"""CART002 unknown-cell-therapy-revenue-code."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity


@rule(
    "CART002", "unknown-cell-therapy-revenue-code", severity=Severity.WARNING,
    sources=["nubc-cell-gene-2020", "bcbsnd-car-t"], settings=INSTITUTIONAL,
    needs=["line:rev-unknown"],
)
def unknown_cell_therapy_revenue_code(ctx: Ctx) -> Iterator[Hit]:
    """A revenue code in the cell/gene therapy range (087X, 089X) that the KB does not know.

    ## What it checks
    Institutional lines whose revenue code starts with 087 or 089 but is not one of the codes the
    knowledge base holds (0870-0875, 0891, 0892).

    ## Why is this bad?
    NUBC created 0870-0875 (cell collection, processing, receipt, infusion, injection) and 0891
    (FDA-approved cell therapy) for CAR-T in April 2019. The meanings of 0876-0879 were not found
    in any source, and a CAR-T charge on an unexpected code is not recognised by the payer's
    edits or by CMS's rate setting, which uses the 0891 charges.

    ## Fix
    Use 0871-0874 for the steps (collection, processing, receipt, infusion) and 0891 for the
    product.

    ## Fix safety
    No automatic fix: which step the charge is for cannot be told from the code.

    ## References
    - nubc-cell-gene-2020 (NUBC cell/gene therapy code changes)
    - bcbsnd-car-t (payer restating the NUBC codes)
    """
    for lf in ctx.lines:
        rev = lf.rev
        if rev is not None and rev[:3] in ("087", "089") and not ctx.ix.knows("revenue", rev):
            yield Hit(
                f"revenue code {rev} is not a known cell/gene therapy revenue code "
                "(known: 0870-0875, 0891, 0892)",
                ctx.line_loc(lf, "revenue_code"),
                (("revenue", rev),),
            )
