"""CART206 autologous-admin-as-unlisted."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, PRODUCT_ROLES, Ctx, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Fix, Severity


@rule(
    "CART206", "autologous-admin-as-unlisted", severity=Severity.ERROR,
    sources=["astct-2025-04", "ama-cpt-2023"], settings=["outpatient", "professional"],
    needs=["line:unlisted"],
)
def autologous_admin_as_unlisted(ctx: Ctx) -> Iterator[Hit]:
    """An autologous CAR-T administration billed with the unlisted code 38999.

    ## What it checks
    Outpatient lines on revenue code 0874, and professional lines, that bill 38999 while the
    claim's product is autologous (an autologous product HCPCS code or a note naming one) and no
    allogeneic product is named.

    ## Why is this bad?
    38999 is for allogeneic CAR-T, which has no CPT code. Autologous administration has its own
    code (0540T through 2024, 38228 from 1/1/2025), paid separately (OPPS SI S, APC 5694; MPFS
    status A); the unlisted code goes to the lowest paying APC in the range and invites requests
    for records.

    ## Fix
    Replace 38999 with the autologous administration code valid on the line's date.

    ## Fix safety
    Safe when a product HCPCS code on the claim shows the product is autologous; unsafe when the
    evidence is only a note.

    ## References
    - astct-2025-04 (seed table: 38228 / 0540T for autologous, 38999 for allogeneic)
    - ama-cpt-2023 (use the specific code when one exists)
    """
    kinds = {ctx.ix.cell_kind.get(p) for p in ctx.products}
    if "autologous" not in kinds or "allogeneic" in kinds:
        return
    from_code = any(lf.row is not None and lf.row.role in PRODUCT_ROLES for lf in ctx.lines)
    institutional = ctx.claim.kind == "institutional"
    for lf in ctx.lines:
        if lf.code != "38999" or (institutional and lf.rev != ctx.ix.k.admin_rev):
            continue
        admin = [
            r for r in ctx.ix.codes_where(system="CPT", role=ADMIN, cell_kind="autologous")
            if lf.date is not None and r.valid_on(lf.date)
        ]
        fix: Fix | None = None
        if len(admin) == 1:
            fix = replace("CPT", "38999", admin[0].code, safe=from_code, line=lf.line.number)
        yield Hit(
            f"line {lf.line.number}: the product is autologous, so the administration has its own code"
            + (f" ({admin[0].code} on {lf.date})" if len(admin) == 1 else "")
            + "; 38999 is for allogeneic CAR-T",
            ctx.line_loc(lf, "code"),
            (("CPT", "38999"),),
            fix,
        )
