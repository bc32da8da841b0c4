"""CART602 nct-number-format."""

from __future__ import annotations

import re
from collections.abc import Iterator

from cartcode.checker._context import Ctx
from cartcode.checker._registry import INSTITUTIONAL, Hit, rule
from cartcode.findings import Severity

_NCT = re.compile(r"^[0-9]{8}$")


@rule(
    "CART602", "nct-number-format", severity=Severity.ERROR,
    sources=["iu-orafaq-69-6", "ufl-ctsi-medicare"], settings=INSTITUTIONAL,
    needs=["values"],
)
def nct_number_format(ctx: Ctx) -> Iterator[Hit]:
    """Value code D4 whose amount is not an 8-digit NCT number.

    ## What it checks
    Value code D4 entries whose amount is missing or is not exactly 8 digits (the NCT number
    without its "NCT" prefix).

    ## Why is this bad?
    Value code D4 carries the clinical trial number the National Library of Medicine assigned
    (ClinicalTrials.gov): 8 digits. Medicare returns clinical-trial claims without a valid one.

    ## Fix
    Enter the 8 digits of the trial's NCT number (NCT01234567 -> 01234567).

    ## Fix safety
    No automatic fix (the value is not a code).

    ## References
    - iu-orafaq-69-6 (Claims Processing Manual ch. 32 section 69.6)
    - ufl-ctsi-medicare (D4 = the 8-digit NCT number)
    """
    for vc in ctx.claim.value_codes:
        if vc.code != ctx.ix.k.trial_vc:
            continue
        amount = (vc.amount or "").strip()
        if _NCT.match(amount):
            continue
        hint = ""
        if amount.upper().startswith("NCT") and _NCT.match(amount[3:]):
            hint = f" (drop the prefix: {amount[3:]})"
        shown = repr(amount) if amount else "nothing"
        yield Hit(
            f"value code {vc.code} holds {shown}; it must be the 8-digit NCT number{hint}",
            vc.loc,
            (("value", vc.code),),
        )
