"""Every rule's good and bad cases (rules/**/<id>_<name>.yaml), run by one glob-driven test.

Good case: the rule stays silent. Bad case: the rule reports exactly the expected findings
(severity, and where given: JSON path, codes, fix, message). `fixed: true`: after applying the
case's safe fixes (as `check --fix` does) the rule no longer fires - sqlfluff's fix_str check.
"""

from __future__ import annotations

from typing import Any

import pytest

from cartcode.checker._cases import Case, load_cases
from cartcode.checker._engine import check_claim
from cartcode.checker._registry import RuleSpec, all_rules
from cartcode.findings import Finding
from cartcode.formats import _json as json_claims
from cartcode.kb.loader import KB

CASES: list[tuple[RuleSpec, Case]] = [(spec, case) for spec in all_rules() for case in load_cases(spec)]


def _run(spec: RuleSpec, data: bytes, kb: KB) -> list[Finding]:
    (claim,) = list(json_claims.read(data, "case.json"))
    assert not isinstance(claim, json_claims.ClaimError), claim.error
    return [f for f in check_claim(claim, kb, [spec]) if f.rule == spec.id]


def _refs(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(str(i["system"]), str(i["code"])) for i in items]


def _matches(finding: Finding, exp: dict[str, Any]) -> bool:
    if finding.severity.value != exp.get("severity", finding.severity.value):
        return False
    if "path" in exp and finding.location.get("path") != exp["path"]:
        return False
    if "codes" in exp and [(c.system, c.code) for c in finding.codes] != _refs(exp["codes"]):
        return False
    if "message" in exp and str(exp["message"]) not in finding.message:
        return False
    if "fix" in exp:
        want = exp["fix"]
        if want is None:
            return finding.fix is None
        fx = finding.fix
        if fx is None or fx.safe != want["safe"]:
            return False
        if [(r.system, r.code) for r in fx.remove] != _refs(want.get("remove", [])):
            return False
        if [(a.system, a.code) for a in fx.add] != _refs(want.get("add", [])):
            return False
        if "line" in want and fx.line != want["line"]:
            return False
    return True


@pytest.mark.parametrize(("spec", "case"), CASES, ids=[f"{s.id}-{c.name}" for s, c in CASES])
def test_rule_case(spec: RuleSpec, case: Case, kb: KB) -> None:
    findings = _run(spec, case.claim_json(), kb)
    shown = [f"{f.severity.value} {f.location.get('path')} {f.message} fix={f.fix}" for f in findings]
    assert len(findings) == len(case.expect), shown
    unmatched = list(findings)
    for exp in case.expect:
        hit = next((f for f in unmatched if _matches(f, exp)), None)
        assert hit is not None, f"expected {exp}; got {shown}"
        unmatched.remove(hit)
    safe = {0: [f.fix for f in findings if f.fix is not None and f.fix.safe]}
    if case.fixed:
        assert safe[0], "`fixed: true` but the case has no safe fix"
        fixed = json_claims.apply_fixes(case.claim_json(), "case.json", safe)
        again = _run(spec, fixed, kb)
        assert again == [], [f.message for f in again]
    else:
        assert not safe[0], "the case has a safe fix: say `fixed: true` so the fix is tested"
