"""CART001 malformed-code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from cartcode._codeformat import is_well_formed
from cartcode.checker._context import Ctx
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity
from cartcode.model import Claim

_SHAPES: Final = {
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
_SEEN: Final[dict[tuple[str, str], bool]] = {}  # well-formedness by (system, code): a claim repeats few codes


_GOOD: Final[dict[tuple[str, str], bool]] = {}  # what the reporting loop below accepts, by (system, code)


def _good(system: str, code: str) -> bool:
    """Exactly the reporting loop's test: a system without a shape, or a well-formed code."""
    found = system not in _SHAPES or _ok(system, code)
    if len(_GOOD) < 50_000:
        _GOOD[(system, code)] = found
    return found


def _all_good(claim: Claim) -> bool:
    """The fast path: every code judged by one dict lookup, cached across claims (a batch repeats
    few codes); False sends the claim through the reporting loop of the rule."""
    good = _GOOD
    for group in (claim.diagnoses, claim.procedures, claim.condition_codes, claim.value_codes,
                  claim.occurrence_codes):
        for coded in group:
            if not (good.get((coded.system, coded.code)) or _good(coded.system, coded.code)):
                return False
    for line in claim.lines:
        rev, proc = line.revenue_code, line.procedure
        if rev is not None and not (good.get((rev.system, rev.code)) or _good(rev.system, rev.code)):
            return False
        if proc is not None and not (good.get((proc.system, proc.code)) or _good(proc.system, proc.code)):
            return False
        for mod in line.modifiers:
            if not (good.get((mod.system, mod.code)) or _good(mod.system, mod.code)):
                return False
    drg = claim.drg
    return drg is None or _good(drg.system, drg.code)


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
    if _all_good(claim):
        return
    revenue = [line.revenue_code for line in claim.lines if line.revenue_code is not None]
    procs = [line.procedure for line in claim.lines if line.procedure is not None]
    modifiers = [m for line in claim.lines for m in line.modifiers]
    two_char = [*claim.condition_codes, *claim.value_codes, *claim.occurrence_codes, *modifiers]
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
