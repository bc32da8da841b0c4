"""CART203 cell-kind-conflict."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity
from cartcode.model import Location


@rule(
    "CART203", "cell-kind-conflict", severity=Severity.ERROR,
    sources=["astct-2025-04", "fcso-ncd-11024"],
    needs=["car-t-pcs", "notes", "line:product"],
)
def cell_kind_conflict(ctx: Ctx) -> Iterator[Hit]:
    """Allogeneic and autologous CAR-T on the same claim.

    ## What it checks
    Claims whose products (product HCPCS codes, billing notes naming a product or "allogeneic")
    and ICD-10-PCS administration codes disagree on the kind of cells: e.g. the allogeneic code
    XW033G7 with Yescarta's Q2041, or an autologous code with a note saying the cells were
    allogeneic. (An autologous CPT administration code on an allogeneic claim is CART204.)

    ## Why is this bad?
    NCD 110.24 covers autologous CAR-T; allogeneic products (from healthy donors) "must not be
    billed as autologous CAR-T". The ICD-10-PCS table has separate codes for allogeneic
    (XW033G7 / XW043G7) and autologous administration.

    ## Fix
    Code the administration with the code of the kind actually given: XW033G7 / XW043G7 for any
    allogeneic product; the product-specific or generic autologous code otherwise.

    ## Fix safety
    No automatic fix: which side is wrong cannot be told.

    ## References
    - astct-2025-04 (allogeneic rows of the seed table)
    - fcso-ncd-11024 (First Coast: allogeneic must not be billed as autologous)
    """
    evidence: dict[str, tuple[str, Location | None]] = {}
    for pid, loc in ctx.products.items():
        kind = ctx.ix.cell_kind.get(pid)
        if kind and kind not in evidence:
            evidence[kind] = (ctx.ix.product_label[pid], loc)
    for proc, row in ctx.pcs_admin:
        if row.cell_kind and row.cell_kind not in evidence:
            evidence[row.cell_kind] = (proc.code, proc.loc)
    if "autologous" in evidence and "allogeneic" in evidence:
        auto, allo = evidence["autologous"], evidence["allogeneic"]
        yield Hit(
            f"the claim reports allogeneic CAR-T ({allo[0]}) and autologous CAR-T ({auto[0]}): "
            "allogeneic cells must not be billed as autologous",
            allo[1],
        )
