"""CART204 allogeneic-admin-needs-38999."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import ADMIN, Ctx, replace
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART204", "allogeneic-admin-needs-38999", severity=Severity.ERROR,
    sources=["astct-2025-04", "ama-cpt-2023", "fcso-ncd-11024"], settings=["outpatient", "professional"],
    needs=["notes"],
)
def allogeneic_admin_needs_38999(ctx: Ctx) -> Iterator[Hit]:
    """Allogeneic CAR-T administration billed with the autologous CPT code.

    ## What it checks
    Outpatient and professional claims that name an allogeneic CAR-T (a billing note naming an
    allogeneic product or "allogeneic CAR-T") and bill the administration with the autologous
    code (38228, or 0540T before 2025).

    ## Why is this bad?
    There is no CPT code for allogeneic CAR-T administration. Per the guide's footnote 4 and the
    CPT instructions, "do not select a CPT code that merely approximates the service provided":
    report the unlisted code 38999. Billing 38228 ("CAR-T cell administration, autologous") for
    allogeneic cells misstates the service.

    ## Fix
    Replace the autologous administration code with 38999 (unlisted procedure, hemic or
    lymphatic system) and be ready to send documentation: payers may ask for it.

    ## Fix safety
    Unsafe: the allogeneic evidence comes from a free-text note.

    ## References
    - astct-2025-04 (footnote 4: recommended 38999)
    - ama-cpt-2023 (CPT instructions: do not approximate)
    - fcso-ncd-11024 (allogeneic must not be billed as autologous)
    """
    allogeneic = [pid for pid in ctx.products if ctx.ix.cell_kind.get(pid) == "allogeneic"]
    if not allogeneic:
        return
    for lf in ctx.lines:
        row = lf.row
        if row is not None and row.role == ADMIN and row.cell_kind == "autologous" and lf.system == "CPT":
            yield Hit(
                f"line {lf.line.number}: {lf.code} is the autologous administration code, but the claim says the "
                "CAR-T is allogeneic: report 38999 (do not approximate)",
                ctx.line_loc(lf, "code"),
                (("CPT", lf.code or ""),),
                replace("CPT", lf.code or "", "38999", safe=False, line=lf.line.number),
            )
