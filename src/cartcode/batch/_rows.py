"""The stable output schema of `cartcode batch` (and of `cartcode.batch.spark`): two tables.

* findings: one row per finding (claims without findings have no row here);
* claims: one row per claim read, checked or failed, so every claim in is accounted for.

Nested values (location, codes, fix, sources) are JSON strings so that the Parquet and the CSV
files hold the same columns and a spreadsheet can open the CSV. Column names and types only ever
grow (new columns at the end).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Final

if TYPE_CHECKING:  # pragma: no cover - the merge process imports this module and must stay small
    from cartcode.findings import ClaimResult, Finding, Fix

FIX_FIELDS: Final = ("remove", "add", "safe", "line", "title")  # what _fix_json's memo key covers

# (name, Arrow type, nullable) of each column, in order; pyarrow itself is only imported where
# tables are built (batch_arrow), so the checking processes stay small.
FINDINGS_COLUMNS: Final[tuple[tuple[str, str, bool], ...]] = (
    ("file", "string", False),
    ("claim_index", "int64", False),
    ("claim_id", "string", True),
    ("status", "string", False),
    ("rule", "string", False),
    ("name", "string", False),
    ("severity", "string", False),
    ("message", "string", False),
    ("location", "string", False),  # JSON object
    ("codes", "string", False),  # JSON array of {system, code}
    ("fix", "string", True),  # JSON object, null when the finding has no fix
    ("sources", "string", False),  # JSON array of source ids
    ("kb_edition", "string", False),
)
CLAIMS_COLUMNS: Final[tuple[tuple[str, str, bool], ...]] = (
    ("file", "string", False),
    ("claim_index", "int64", False),
    ("claim_id", "string", True),
    ("status", "string", False),  # checked | failed
    ("error", "string", True),
    ("finding_count", "int64", False),
)


def _dumps_std(value: Any) -> str:
    # sorted keys and no spaces: the same finding always gives the same bytes
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _one_encoder() -> Any:
    """json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) as one C
    encoder made once: json.dumps makes a new encoder per call, which costs more than the
    encoding of a finding's small values. Values here are plain (no NaN, no cycles)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:  # a Python without the _json accelerator
        return None
    return make(None, _no_default, basestring, None, ":", ",", True, False, True)


def _no_default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER: Final = _one_encoder()


def _dumps(value: Any) -> str:
    if _ENCODER is None:
        return _dumps_std(value)
    return "".join(_ENCODER(value, 0))


# A finding's location as JSON without the generic encoder: its keys are Location's fields,
# in sorted order (json.dumps(sort_keys=True) gives the same), its values strings and ints.
_LOCATION_KEYS: Final = ("element", "file", "line", "loop", "offset", "path", "segment", "segment_id")
_LOCATION_KEY_SET: Final = frozenset(_LOCATION_KEYS)
_QUOTED_KEYS: Final = {key: f'"{key}":' for key in _LOCATION_KEYS}
_encode_str: Final[Any] = getattr(json.encoder, "c_encode_basestring", None)


def _location_json(loc: dict[str, Any]) -> str:
    if _encode_str is None or not _LOCATION_KEY_SET.issuperset(loc):
        return _dumps(loc)
    parts: list[str] = []
    for key in _LOCATION_KEYS:
        if key in loc:
            value = loc[key]
            if isinstance(value, str):
                parts.append(_QUOTED_KEYS[key] + _encode_str(value))
            elif type(value) is int:
                parts.append(_QUOTED_KEYS[key] + str(value))
            else:
                return _dumps(loc)
    return "{" + ",".join(parts) + "}"


def _fix_json(fix: Fix) -> str:
    """A fix's JSON (pydantic's own dump), memoised: the same replacement recurs on claim after
    claim. The key holds every field of Fix (FIX_FIELDS; a test keeps the two equal)."""
    key = (
        "fix",
        tuple((c.system, c.code) for c in fix.remove),
        tuple((c.system, c.code) for c in fix.add),
        fix.safe,
        fix.line,
        fix.title,
    )
    found = _JSON_MEMO.get(key)
    return found if found is not None else _memo_dumps(key, fix.model_dump(mode="json"))


_JSON_MEMO: Final[dict[tuple[Any, ...], str]] = {}  # codes and source lists: few distinct per batch


def _memo_dumps(key: tuple[Any, ...], value: Any) -> str:
    found = _JSON_MEMO.get(key)
    if found is None:
        found = _dumps(value)
        if len(_JSON_MEMO) < 10_000:
            _JSON_MEMO[key] = found
    return found


def finding_row(file: str, index: int, claim_id: str | None, finding: Finding, edition: str) -> dict[str, Any]:
    """A findings row. Reads the model's fields directly (model_dump per finding would cost more
    than the rules on an all-CAR-T batch); a test checks it against Finding.to_json()."""
    fix = finding.fix
    return {
        "file": file,
        "claim_index": index,
        "claim_id": claim_id,
        "status": "checked",
        "rule": finding.rule,
        "name": finding.name,
        "severity": str(finding.severity),
        "message": finding.message,
        "location": _location_json(finding.location),
        "codes": _memo_dumps(
            ("codes", *[(c.system, c.code) for c in finding.codes]),
            [{"code": c.code, "system": c.system} for c in finding.codes],
        ),
        "fix": _fix_json(fix) if fix is not None else None,
        "sources": _memo_dumps(("sources", *finding.sources), finding.sources),
        "kb_edition": edition,
    }


def reference_row(file: str, index: int, claim_id: str | None, finding: Finding, edition: str) -> dict[str, Any]:
    """finding_row through the contract's own serialisation (Finding.to_json), for the tests."""
    data = finding.to_json()
    return {
        "file": file,
        "claim_index": index,
        "claim_id": claim_id,
        "status": "checked",
        "rule": data["rule"],
        "name": data["name"],
        "severity": data["severity"],
        "message": data["message"],
        "location": _dumps_std(data.get("location") or {}),
        "codes": _dumps_std(data.get("codes") or []),
        "fix": _dumps_std(data["fix"]) if data.get("fix") is not None else None,
        "sources": _dumps_std(data.get("sources") or []),
        "kb_edition": edition,
    }


@dataclass
class Columns:
    """Rows of both tables for a run of claims, kept as columns (cheap to append, cheap to write)."""

    file: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    claim_id: list[str | None] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    error: list[str | None] = field(default_factory=list)
    finding_count: list[int] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)

    def add_plain(self, file: str, indexes: Iterable[int], ids: Iterable[str | None]) -> None:
        """Claims the pre-filter cleared: checked, no findings (the fast path, no models)."""
        idx = list(indexes)
        self.index.extend(idx)
        self.claim_id.extend(ids)
        n = len(idx)
        self.file.extend([file] * n)
        self.status.extend(["checked"] * n)
        self.error.extend([None] * n)
        self.finding_count.extend([0] * n)

    def add_result(self, file: str, result: ClaimResult, edition: str) -> None:
        self.file.append(file)
        self.index.append(result.source.index)
        self.claim_id.append(result.id)
        self.status.append(result.status)
        self.error.append(result.error)
        self.finding_count.append(len(result.findings))
        for finding in result.findings:
            self.findings.append(finding_row(file, result.source.index, result.id, finding, edition))

    def claims_lists(self) -> list[list[Any]]:
        """The claims table's columns, in CLAIMS_COLUMNS order."""
        return [self.file, self.index, self.claim_id, self.status, self.error, self.finding_count]

    def findings_lists(self) -> list[list[Any]]:
        """The findings table's columns, in FINDINGS_COLUMNS order."""
        return [[row[name] for row in self.findings] for name, _, _ in FINDINGS_COLUMNS]

    def dump(self, handle: BinaryIO) -> None:
        """Append this chunk to a part file (marshal: fast, and loading it runs no code)."""
        data = marshal.dumps({"claims": self.claims_lists(), "findings": self.findings_lists()})
        # length-prefixed: loading from bytes is ~10x faster than marshal.load on a file object
        handle.write(len(data).to_bytes(8, "little"))
        handle.write(data)

    def results(self) -> Iterator[ClaimResult]:
        """The rows back as ClaimResults (for `check` output), findings re-attached in order."""
        from cartcode.findings import ClaimResult
        from cartcode.model import ClaimSource

        by_claim: dict[int, list[Finding]] = {}
        for row in self.findings:
            by_claim.setdefault(row["claim_index"], []).append(finding_of(row))
        for i, index in enumerate(self.index):
            yield ClaimResult(
                id=self.claim_id[i],
                source=ClaimSource(file=self.file[i], index=index),
                status="failed" if self.status[i] == "failed" else "checked",
                error=self.error[i],
                findings=by_claim.get(index, []),
            )


def finding_of(row: dict[str, Any]) -> Finding:
    """A findings row back as a Finding (the inverse of finding_row)."""
    from cartcode.findings import Finding

    return Finding.model_validate({
        "rule": row["rule"],
        "name": row["name"],
        "severity": row["severity"],
        "message": row["message"],
        "location": json.loads(row["location"]),
        "codes": json.loads(row["codes"]),
        "fix": json.loads(row["fix"]) if row["fix"] else None,
        "sources": json.loads(row["sources"]),
    })


def load_chunks(handle: BinaryIO) -> Iterator[dict[str, list[list[Any]]]]:
    """The chunks of a part file written by :meth:`Columns.dump`, in order."""
    while True:
        head = handle.read(8)
        if len(head) < 8:
            return
        yield marshal.loads(handle.read(int.from_bytes(head, "little")))
