"""Findings and reports: the output shape of `check`, in one place (CONTRACT.md).

Slots dataclasses with a hand-written __init__, as in :mod:`cartcode.model` (mypyc compiles them
to native classes); ``to_json`` gives the contract's JSON shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from cartcode.model import ClaimSource, Location


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(slots=True)
class CodeRef:
    """A code a finding names or a fix adds or removes. Read-only and hashable."""

    system: Final[str]
    code: Final[str]

    def __init__(self, *, system: str, code: str) -> None:
        self.system = system
        self.code = code

    def __hash__(self) -> int:
        return hash((self.system, self.code))

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "code": self.code}


@dataclass(slots=True)
class Fix:
    """A fix as data (ruff style).

    Semantics, shared by every writer: within the scope (the service line `line` when set, else
    the claim), each code in `remove` is removed; each code in `add` is added. A remove and an add
    of the same system are a replacement: the new code takes the old one's place (same segment,
    same element). `safe` fixes are applied by `check --fix`; unsafe ones are only shown.
    """

    remove: list[CodeRef]
    add: list[CodeRef]
    safe: bool
    line: int | None  # 1-based service line the fix applies to; None = claim level
    title: str | None  # short imperative, e.g. "Replace 0540T with 38228"

    def __init__(
        self,
        *,
        safe: bool,
        remove: list[CodeRef] | None = None,
        add: list[CodeRef] | None = None,
        line: int | None = None,
        title: str | None = None,
    ) -> None:
        self.remove = remove if remove is not None else []
        self.add = add if add is not None else []
        self.safe = safe
        self.line = line
        self.title = title

    def pairs(self) -> list[tuple[CodeRef | None, CodeRef | None]]:
        """The fix as (old, new) steps, the semantics every writer applies: each removed code is
        paired with the first added code of the same system (a replacement in place); removes
        left alone are (old, None), adds left alone are (None, new)."""
        adds = list(self.add)
        steps: list[tuple[CodeRef | None, CodeRef | None]] = []
        for old in self.remove:
            new = next((a for a in adds if a.system == old.system), None)
            if new is not None:
                adds.remove(new)
            steps.append((old, new))
        steps.extend((None, a) for a in adds)
        return steps

    def to_json(self) -> dict[str, Any]:
        return {
            "remove": [c.to_json() for c in self.remove],
            "add": [c.to_json() for c in self.add],
            "safe": self.safe,
            "line": self.line,
            "title": self.title,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Fix:
        """The inverse of :meth:`to_json` (for values this package wrote)."""
        return Fix(
            remove=[CodeRef(system=c["system"], code=c["code"]) for c in data.get("remove") or ()],
            add=[CodeRef(system=c["system"], code=c["code"]) for c in data.get("add") or ()],
            safe=bool(data["safe"]),
            line=data.get("line"),
            title=data.get("title"),
        )


@dataclass(slots=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    message: str
    location: dict[str, Any]
    codes: list[CodeRef]
    fix: Fix | None
    sources: list[str]

    def __init__(
        self,
        *,
        rule: str,
        name: str,
        severity: Severity,
        message: str,
        location: dict[str, Any] | None = None,
        codes: list[CodeRef] | None = None,
        fix: Fix | None = None,
        sources: list[str] | None = None,
    ) -> None:
        self.rule = rule
        self.name = name
        self.severity = severity
        self.message = message
        self.location = location if location is not None else {}
        self.codes = codes if codes is not None else []
        self.fix = fix
        self.sources = sources if sources is not None else []

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "name": self.name,
            "severity": str(self.severity),
            "message": self.message,
            "location": dict(self.location),
            "codes": [c.to_json() for c in self.codes],
        }
        if self.fix is not None:  # CONTRACT: `fix` is absent when there is no fix
            data["fix"] = self.fix.to_json()
        data["sources"] = list(self.sources)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Finding:
        """The inverse of :meth:`to_json` (for values this package wrote)."""
        fix = data.get("fix")
        return Finding(
            rule=data["rule"],
            name=data["name"],
            severity=Severity(data["severity"]),
            message=data["message"],
            location=dict(data.get("location") or {}),
            codes=[CodeRef(system=c["system"], code=c["code"]) for c in data.get("codes") or ()],
            fix=Fix.from_json(fix) if fix is not None else None,
            sources=list(data.get("sources") or ()),
        )


def location_of(loc: Location | None) -> dict[str, Any]:
    return loc.as_dict() if loc is not None else {}


@dataclass(slots=True)
class KbStamp:
    edition: str
    as_of: str

    def to_json(self) -> dict[str, Any]:
        return {"edition": self.edition, "as_of": self.as_of}


@dataclass(slots=True)
class ClaimResult:
    id: str | None
    source: ClaimSource
    status: Literal["checked", "failed"]
    error: str | None
    findings: list[Finding]
    # inpatient claims checked with grouping on: {"drg", "title", "mdc", "version", "grouper"} (plus
    # "status" and "reason" when the claim could not be grouped); None otherwise
    grouping: dict[str, Any] | None
    # inpatient claims checked with grouping on, and outpatient / professional claims that bill the
    # CAR-T administration code: the Medicare payment estimate (issue 15; the shape of recommend's
    # `estimate`, Estimate.to_json()); None otherwise
    estimate: dict[str, Any] | None
    # "YYYY-MM" of the discharge / statement through / first line date (Claim.service_month): batch's
    # claims table column; not part of the JSON report
    service_month: str | None

    def __init__(
        self,
        *,
        id: str | None,
        source: ClaimSource,
        status: Literal["checked", "failed"],
        error: str | None = None,
        findings: list[Finding] | None = None,
        grouping: dict[str, Any] | None = None,
        estimate: dict[str, Any] | None = None,
        service_month: str | None = None,
    ) -> None:
        self.id = id
        self.source = source
        self.status = status
        self.error = error
        self.findings = findings if findings is not None else []
        self.grouping = grouping
        self.estimate = estimate
        self.service_month = service_month

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "source": self.source.as_dict(),
            "status": self.status,
            "error": self.error,
        }
        if self.grouping is not None:  # CONTRACT: present for inpatient claims when grouping is on
            data["grouping"] = dict(self.grouping)
        if self.estimate is not None:  # CONTRACT (issue 15): inpatient once grouped; OPPS / PFS admin
            data["estimate"] = dict(self.estimate)
        data["findings"] = [f.to_json() for f in self.findings]
        return data

    @property
    def has_error(self) -> bool:
        return any(f.severity == Severity.ERROR for f in self.findings)


@dataclass(slots=True)
class Report:
    kb: KbStamp
    claims: list[ClaimResult]

    def __init__(self, *, kb: KbStamp, claims: list[ClaimResult] | None = None) -> None:
        self.kb = kb
        self.claims = claims if claims is not None else []

    def to_json(self) -> dict[str, Any]:
        return {"kb": self.kb.to_json(), "claims": [c.to_json() for c in self.claims]}

    @property
    def exit_code(self) -> int:
        """CONTRACT: 0 = no error-level finding; 1 = at least one, or a claim that could not be read
        (status failed: it cannot be sent either). 2 is for usage/input errors."""
        return 1 if any(c.has_error or c.status == "failed" for c in self.claims) else 0
