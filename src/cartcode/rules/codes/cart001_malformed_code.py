"""CART001 malformed-code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cartcode.codeformat import is_well_formed
from cartcode.findings import Severity
from cartcode.rules import Hit, rule
from cartcode.rules.context import Ctx

_SHAPES = {
    "ICD-10-PCS": "7 characters, digits and letters without I or O",
    "ICD-10-CM": "a letter, two characters, then an optional dot and up to 4 characters",
    "CPT": "5 characters: 4 digits then a digit, F, T or U",
    "HCPCS": "a letter A-V and 4 digits",
    "revenue": "4 digits",
    "modifier": "2 characters",
    "condition": "2 characters",
    "value": "2 characters",
    "occurrence": "2 characters",
    "MS-DRG": "3 digits",
}
_SEEN: dict[tuple[str, str], bool] = {}  # well-formedness by (system, code): a claim repeats few codes


def _ok(system: str, code: str) -> bool:
    key = (system, code)
    found = _SEEN.get(key)
    if found is None:
        found = is_well_formed(system, code)
        if len(_SEEN) < 50_000:
            _SEEN[key] = found
    return found


@rule("CART001", "malformed-code", severity=Severity.ERROR, sources=["astct-2025-04"])
def malformed_code(ctx: Ctx) -> Iterator[Hit]:
    """A code that does not have the shape of its code system.

    ## What it checks
    Every code on the claim (diagnoses, ICD-10-PCS procedures, condition, value and occurrence
    codes, MS-DRG, revenue codes, CPT/HCPCS and modifiers on the lines) against the shape of its
    system, e.g. ICD-10-PCS is 7 characters without I or O, a revenue code is 4 digits.

    ## Why is this bad?
    A malformed code is rejected by the payer's front-end edits (or worse, read as another code),
    and none of the other rules can judge it. The code systems are HIPAA transaction code sets:
    only valid codes may be sent.

    ## Fix
    Correct the code by hand; the intended code cannot be guessed.

    ## Fix safety
    No automatic fix.

    ## References
    - astct-2025-04 (the guide: "All payers and providers must follow HIPAA code sets")
    """
    claim = ctx.claim
    revenue = [line.revenue_code for line in claim.lines if line.revenue_code is not None]
    procs = [line.procedure for line in claim.lines if line.procedure is not None]
    cpt = [p for p in procs if p.system == "CPT"]
    hcpcs = [p for p in procs if p.system == "HCPCS"]
    modifiers = [m for line in claim.lines for m in line.modifiers]
    two_char = [*claim.condition_codes, *claim.value_codes, *claim.occurrence_codes, *modifiers]
    # Fast path: one regex per list (C speed) for the claim that is all well formed - every claim
    # pays for this rule, and most have dozens of codes.
    if (
        _all_ok(_CM_LIST, claim.diagnoses)
        and _all_ok(_PCS_LIST, claim.procedures)
        and _all_ok(_TWO_LIST, two_char)
        and _all_ok(_REV_LIST, revenue)
        and _all_ok(_CPT_LIST, cpt)
        and _all_ok(_HCPCS_LIST, hcpcs)
        and len(cpt) + len(hcpcs) == len(procs)
        and (claim.drg is None or _ok("MS-DRG", claim.drg.code))
    ):
        return
    seen = _SEEN
    groups: list[list[Any]] = [claim.diagnoses, claim.procedures, two_char, revenue, procs]
    if claim.drg is not None:
        groups.append([claim.drg])
    for group in groups:
        for coded in group:
            ok = seen.get((coded.system, coded.code))
            if ok is None:
                ok = coded.system not in _SHAPES or _ok(coded.system, coded.code)
            if not ok:
                yield Hit(
                    f"{coded.code!r} is not a well-formed {coded.system} code (expected {_SHAPES[coded.system]})",
                    coded.loc,
                    ((coded.system, coded.code),),
                )


def _list_pattern(item: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{item},)*")


# The shapes of codeformat._PATTERNS, as lists ("code,code,"); the per-code check stays the
# reference (codeformat.is_well_formed) and runs whenever a list does not match.
_CM_LIST = _list_pattern(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_PCS_LIST = _list_pattern(r"[0-9A-HJ-NP-Z]{7}")
_TWO_LIST = _list_pattern(r"[0-9A-Z]{2}")
_REV_LIST = _list_pattern(r"[0-9]{4}")
_CPT_LIST = _list_pattern(r"[0-9]{4}[0-9FTU]")
_HCPCS_LIST = _list_pattern(r"[A-V][0-9]{4}")


def _all_ok(pattern: re.Pattern[str], items: list[Any]) -> bool:
    if not items:
        return True
    return pattern.fullmatch("".join(c.code + "," for c in items)) is not None
