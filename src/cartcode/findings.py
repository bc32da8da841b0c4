"""Findings and reports: the output shape of `check`, in one place (CONTRACT.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cartcode.model import ClaimSource, Location


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class CodeRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str
    code: str


class Fix(BaseModel):
    """A fix as data (ruff style).

    Semantics, shared by every writer: within the scope (the service line `line` when set, else
    the claim), each code in `remove` is removed; each code in `add` is added. A remove and an add
    of the same system are a replacement: the new code takes the old one's place (same segment,
    same element). `safe` fixes are applied by `check --fix`; unsafe ones are only shown.
    """

    model_config = ConfigDict(extra="forbid")

    remove: list[CodeRef] = Field(default_factory=list)
    add: list[CodeRef] = Field(default_factory=list)
    safe: bool
    line: int | None = None  # 1-based service line the fix applies to; None = claim level
    title: str | None = None  # short imperative, e.g. "Replace 0540T with 38228"

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


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    name: str
    severity: Severity
    message: str
    location: dict[str, Any] = Field(default_factory=dict)
    codes: list[CodeRef] = Field(default_factory=list)
    fix: Fix | None = None
    sources: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if data["fix"] is None:
            del data["fix"]  # CONTRACT: `fix` is absent when there is no fix
        return data


def location_of(loc: Location | None) -> dict[str, Any]:
    return loc.as_dict() if loc is not None else {}


class KbStamp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edition: str
    as_of: str


class ClaimResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None
    source: ClaimSource
    status: Literal["checked", "failed"]
    error: str | None = None
    findings: list[Finding] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source.model_dump(),
            "status": self.status,
            "error": self.error,
            "findings": [f.to_json() for f in self.findings],
        }

    @property
    def has_error(self) -> bool:
        return any(f.severity == Severity.ERROR for f in self.findings)


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kb: KbStamp
    claims: list[ClaimResult] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"kb": self.kb.model_dump(), "claims": [c.to_json() for c in self.claims]}

    @property
    def exit_code(self) -> int:
        """CONTRACT: 0 = no error-level finding; 1 = at least one, or a claim that could not be read
        (status failed: it cannot be sent either). 2 is for usage/input errors."""
        return 1 if any(c.has_error or c.status == "failed" for c in self.claims) else 0
