"""The good and bad cases beside each rule (``<id>_<name>.yaml``): data for the tests and the docs.

A case is a claim in our JSON format plus what the rule must report on it::

    rule: CART101
    cases:
      - name: 0540T after 2024 is replaced by 38228
        claim: {kind: institutional, type_of_bill: "131", ...}
        expect:                        # empty list = a good case (the rule stays silent)
          - severity: error
            path: $.lines[0].code      # optional: the finding's JSON path
            codes: [{system: CPT, code: 0540T}]   # optional
            fix: {remove: [...], add: [...], safe: true, line: 1}   # optional; `fix: null` = no fix
            message: "38228"           # optional: a substring of the message
        fixed: true                    # after the safe fixes, the rule no longer fires
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from cartcode.checker._registry import RuleSpec


@dataclass
class Case:
    rule: str
    name: str
    claim: dict[str, Any]
    expect: list[dict[str, Any]] = field(default_factory=list)
    fixed: bool = False

    @property
    def good(self) -> bool:
        return not self.expect

    def claim_json(self) -> bytes:
        return json.dumps(self.claim, default=_plain, indent=2).encode("utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def load_cases(spec: RuleSpec) -> list[Case]:
    """The rule's cases; a missing file is no cases (the meta test requires them)."""
    path = spec.cases_path
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if data.get("rule") != spec.id:
        raise ValueError(f"{path.name}: 'rule' is {data.get('rule')!r}, expected {spec.id}")
    cases = []
    for index, item in enumerate(data.get("cases") or []):
        if not isinstance(item, dict) or not isinstance(item.get("claim"), dict):
            raise ValueError(f"{path.name}: case {index + 1} needs a name and a claim object")
        cases.append(Case(
            rule=spec.id,
            name=str(item.get("name") or f"case {index + 1}"),
            claim=item["claim"],
            expect=list(item.get("expect") or []),
            fixed=bool(item.get("fixed", False)),
        ))
    return cases
