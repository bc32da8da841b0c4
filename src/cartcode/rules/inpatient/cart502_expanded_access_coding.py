"""CART502 expanded-access-coding."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.findings import Severity
from cartcode.rules import Hit, rule
from cartcode.rules.context import Ctx, fix, fmt_date


@rule(
    "CART502", "expanded-access-coding", severity=Severity.ERROR,
    sources=["astct-2025-04", "ngs-coding-edits", "fr-2022-16472", "cms-r10571cp"], settings=["inpatient"],
    needs=["conditions", "notes"],
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
    cc90 = ctx.condition("90")
    note = ctx.has_note("Expand Acc Use")
    if cc90 is None and note is None:
        return
    cc90_start = ctx.ix.policy_value("expanded-access-cc90", day) is not None
    where = "the FL 80 remarks" if ctx.claim.claim_form == "paper" else "billing note NTE02"
    if cc90_start:
        if cc90 is None:
            yield Hit(
                f"expanded access on a discharge from 2022-10-01 ({fmt_date(day)}): condition code 90 is required "
                "with the \"Expand Acc Use\" note",
                note.loc if note is not None else ctx.claim_loc(),
                (("condition", "90"),),
                fix(add=[("condition", "90")], safe=True, title="Add condition code 90"),
            )
        if note is None and cc90 is not None:
            yield Hit(
                f"expanded access: condition code 90 is on the claim but not the \"Expand Acc Use\" note ({where})",
                cc90.loc,
                (("note", "Expand Acc Use"),),
                fix(add=[("note", "Expand Acc Use")], safe=True, title='Add the note "Expand Acc Use"'),
            )
    elif cc90 is not None:
        yield Hit(
            f"condition code 90 signals expanded access only for discharges from 2022-10-01; on {fmt_date(day)} "
            f"use the \"Expand Acc Use\" note ({where}) alone",
            cc90.loc,
            (("condition", "90"),),
            fix(
                remove=[("condition", "90")],
                add=[] if note is not None else [("note", "Expand Acc Use")],
                safe=True,
                title="Replace condition code 90 with the note",
            ),
        )
