"""CART502 expanded-access-coding."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, fix, fmt_date
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART502", "expanded-access-coding", severity=Severity.ERROR,
    sources=["astct-2025-04", "ngs-coding-edits", "fr-2022-16472", "cms-r10571cp"], settings=["inpatient"],
    needs=["conditions", "note:ea"],
)
def expanded_access_coding(ctx: Ctx) -> Iterator[Hit]:
    """Expanded access CAR-T not signalled the way the discharge date requires.

    ## What it checks
    Inpatient claims that show expanded access (condition code 90 or the "Expand Acc Use" note):
    on discharges from 10/1/2022 both condition code 90 and the note must be present; before
    that date the note alone (condition code 90 did not exist for this yet).

    ## Why is this bad?
    Footnote 1: to notify the MAC of expanded access use, from 10/1/2022 providers put condition
    code 90 on the claim (FY2023 IPPS final rule) so the Pricer applies the MS-DRG 018 payment
    adjustment; before, CMS asked for the billing note NTE02 "Expand Acc Use" (paper: FL 80
    remark), which NGS still lists with condition code 90. A claim with one signal and not the
    other is paid or edited wrongly.

    ## Fix
    From 10/1/2022: add condition code 90 or the note, whichever is missing. Before: replace
    condition code 90 with the note.

    ## Fix safety
    Safe: the claim already says it is expanded access.

    ## References
    - astct-2025-04 (footnote 1)
    - ngs-coding-edits (NGS: note plus condition code 90)
    - fr-2022-16472 (FY2023 IPPS final rule: condition code 90)
    - cms-r10571cp (Transmittal R10571CP: the note)
    """
    day = ctx.pcs_date
    if day is None:
        return
    k = ctx.ix.k
    cc90 = ctx.condition(k.ea_cc)
    note = ctx.has_note(k.ea_note)
    if cc90 is None and note is None:
        return
    cc90_start = ctx.ix.policy_value("expanded-access-cc90", day) is not None
    where = "the FL 80 remarks" if ctx.claim.claim_form == "paper" else "billing note NTE02"
    if cc90_start:
        if cc90 is None:
            yield Hit(
                f"expanded access on a discharge from {_start(ctx)} ({fmt_date(day)}): condition code {k.ea_cc} is "
                f"required with the \"{k.ea_note}\" note",
                note.loc if note is not None else ctx.claim_loc(),
                (("condition", k.ea_cc),),
                fix(add=[("condition", k.ea_cc)], safe=True, title=f"Add condition code {k.ea_cc}"),
            )
        if note is None and cc90 is not None:
            yield Hit(
                f"expanded access: condition code {k.ea_cc} is on the claim but not the \"{k.ea_note}\" note ({where})",
                cc90.loc,
                (("note", k.ea_note),),
                fix(add=[("note", k.ea_note)], safe=True, title=f'Add the note "{k.ea_note}"'),
            )
    elif cc90 is not None:
        yield Hit(
            f"condition code {k.ea_cc} signals expanded access only for discharges from {_start(ctx)}; on "
            f"{fmt_date(day)} use the \"{k.ea_note}\" note ({where}) alone",
            cc90.loc,
            (("condition", k.ea_cc),),
            fix(
                remove=[("condition", k.ea_cc)],
                add=[] if note is not None else [("note", k.ea_note)],
                safe=True,
                title=f"Replace condition code {k.ea_cc} with the note",
            ),
        )


def _start(ctx: Ctx) -> str:
    """The first discharge date of the condition-code policy (2022-10-01)."""
    rows = ctx.kb.policy_rows("expanded-access-cc90")
    start = rows[0].effective_from if rows else None
    return start.isoformat() if start else "its start"
