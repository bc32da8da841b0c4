"""CART001 malformed-code."""

from __future__ import annotations

from collections.abc import Iterator

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
    seen = _SEEN
    for coded in ctx.claim.all_codes():
        ok = seen.get((coded.system, coded.code))
        if ok is None:
            ok = coded.system not in _SHAPES or _ok(coded.system, coded.code)
        if not ok:
            system = coded.system
            yield Hit(
                f"{coded.code!r} is not a well-formed {system} code (expected {_SHAPES[system]})",
                coded.loc,
                ((system, coded.code),),
            )
