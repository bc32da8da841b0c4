"""Report writers for `check`: text (grouped by claim, colour on a terminal), JSON (CONTRACT.md), CSV.

Each writer is streamed: ``begin(kb)``, then ``claim(result)`` as each claim is checked, then
``end()`` - so a check of a million claims holds one claim's result at a time, whatever the format.
JSON is byte-identical for the same input (and to ``json.dumps(report.to_json(), indent=2)``):
claims come in input order with findings sorted, and nothing time-dependent is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from decimal import Decimal
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.markup import escape

from cartcode.findings import ClaimResult, Finding, KbStamp, Report, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}

CSV_COLUMNS = (
    "file", "claim_index", "claim_id", "status", "rule", "name", "severity", "message", "location",
    "codes", "fix", "fix_safe", "sources", "error", "drg", "drg_version", "grouping_status",
)


def grouping_cells(result: ClaimResult) -> list[str]:
    """The CSV's grouping columns: the computed MS-DRG, its definitions version, and the status
    (grouped, or why not; empty when the claim was not grouped: not inpatient, or grouping off)."""
    g = result.grouping
    if g is None:
        return ["", "", ""]
    return [g.get("drg") or "", g.get("version") or "", g.get("status") or "grouped"]


def grouping_line(grouping: dict[str, Any]) -> str:
    """One readable line for the text report."""
    version = f"v{grouping['version']}" if grouping.get("version") else "no version"
    if grouping.get("status") is None:
        mdc = f", MDC {grouping['mdc']}" if grouping.get("mdc") else ""
        return f"MS-DRG {grouping['drg']} {grouping.get('title') or ''} ({version}{mdc}, {grouping.get('grouper')})"
    return f"MS-DRG not computed ({grouping['status']}): {grouping.get('reason') or ''}"


def estimate_line(estimate: dict[str, Any]) -> str:
    """One readable line for the text report: the estimate's total, or why there is none."""
    what = f"Medicare payment estimate ({estimate.get('system')} {estimate.get('year') or ''}, {estimate.get('basis')})"
    total = estimate.get("total")
    if total is not None:
        partial = "" if estimate.get("complete") else " (partial: parts are missing, see --format json)"
        return f"{what}: ${Decimal(total):,.2f}{partial}"
    why = next((w for w in estimate.get("warnings") or () if w.startswith("No estimate")), None)
    return f"{what}: no total - {why.removeprefix('No estimate: ') if why else 'see --format json'}"


def format_location(location: dict[str, Any]) -> str:
    """A short, readable location: the JSON path, or segment / loop / element for X12."""
    parts: list[str] = []
    if location.get("path"):
        parts.append(str(location["path"]))
    if location.get("segment") is not None:
        seg = f"segment {location['segment']}"
        if location.get("segment_id"):
            seg += f" {location['segment_id']}"
        parts.append(seg)
    if location.get("loop"):
        parts.append(f"loop {location['loop']}")
    if location.get("element"):
        parts.append(str(location["element"]))
    if location.get("line") is not None and location.get("segment") is None:
        parts.append(f"line {location['line']}")
    return ", ".join(parts)


def format_fix(finding: Finding) -> str:
    fx = finding.fix
    if fx is None:
        return ""
    if fx.title:
        text = fx.title
    else:
        removes = " ".join(f"-{r.code}" for r in fx.remove)
        adds = " ".join(f"+{a.code}" for a in fx.add)
        text = " ".join(p for p in (removes, adds) if p)
    if fx.line is not None:
        text += f" (line {fx.line})"
    return text



class ReportWriter(Protocol):
    def begin(self, kb: KbStamp) -> None: ...
    def claim(self, result: ClaimResult) -> None: ...
    def end(self) -> None: ...


_STRING = json.JSONEncoder(ensure_ascii=False).encode  # one encoder: json.dumps builds one per call


def _plain_string(text: str) -> str:
    """A string's JSON: letters and digits need no escape (most claim ids and every status)."""
    return '"' + text + '"' if text.isascii() and text.isalnum() else _STRING(text)


def dump_indented(value: Any, indent: str = "") -> str:
    """`value` exactly as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it, nested
    under `indent`. json's indented output runs in pure Python (its C encoder does no indent);
    this plain recursion over the few JSON types a report holds is several times faster, and
    tests/cli/test_render.py compares the two on generated values."""
    if isinstance(value, str):
        return _STRING(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        items = [inner + _STRING(str(k)) + ": " + dump_indented(v, inner) for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + dump_indented(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)  # floats, others


def _indented(value: Any, level: int) -> str:
    """`value` as json.dumps(indent=2) writes it nested `level` deep (strings never hold a raw
    newline in JSON, so indenting by line is exact)."""
    return dump_indented(value, "  " * level)


class JsonWriter:
    """The contract's report, written claim by claim."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self._files: dict[str, str] = {}  # each file name's JSON, encoded once
        self._pending: list[str] = []

    def begin(self, kb: KbStamp) -> None:
        self.out.write('{\n  "kb": ' + _indented({"edition": kb.edition, "as_of": kb.as_of}, 1) + ',\n  "claims": [')

    def claim(self, result: ClaimResult) -> None:
        if not result.findings and result.grouping is None and result.estimate is None:
            text = self._plain_claim(result)  # most claims of a big file: the same shape every time
        else:
            text = _indented(result.to_json(), 2)
        self._pending.append(("," if self.count else "") + "\n    " + text)
        self.count += 1
        if len(self._pending) >= 256:  # one write per 256 claims: a write per claim cost as much as the text
            self.out.write("".join(self._pending))
            self._pending.clear()

    def _plain_claim(self, result: ClaimResult) -> str:
        """``_indented(result.to_json(), 2)`` for a claim with no findings, grouping or estimate,
        written from a template (tests/cli/test_render.py checks they agree)."""
        file = self._files.get(result.source.file)
        if file is None:
            file = self._files[result.source.file] = _STRING(result.source.file)
        return ('{\n      "id": ' + ("null" if result.id is None else _plain_string(result.id))
                + ',\n      "source": {\n        "file": ' + file
                + ',\n        "index": ' + int.__repr__(result.source.index)
                + '\n      },\n      "status": ' + _plain_string(result.status)
                + ',\n      "error": ' + ("null" if result.error is None else _STRING(result.error))
                + ',\n      "findings": []\n    }')

    def end(self) -> None:
        self.out.write("".join(self._pending) + ("\n  ]\n}\n" if self.count else "]\n}\n"))
        self._pending.clear()


class CsvWriter:
    """One row per finding (and one per claim that could not be read)."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out, lineterminator="\n")

    def begin(self, kb: KbStamp) -> None:
        self.writer.writerow(CSV_COLUMNS)

    def claim(self, result: ClaimResult) -> None:
        base = [result.source.file, result.source.index, result.id or "", result.status]
        if result.status == "failed":
            self.writer.writerow([*base, "", "", "error", "", "", "", "", "", "", result.error or "", "", "", ""])
            return
        grouping = grouping_cells(result)
        for f in result.findings:
            self.writer.writerow([
                *base, f.rule, f.name, f.severity.value, f.message, format_location(f.location),
                " ".join(f"{c.system}:{c.code}" for c in f.codes), format_fix(f),
                "" if f.fix is None else str(f.fix.safe).lower(), " ".join(f.sources), "", *grouping,
            ])

    def end(self) -> None:
        pass


def _counts(findings: list[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}{'es' if word.endswith('x') else 's'}"


class TextWriter:
    """The report for a person: grouped by claim, each finding with rule, location, fix and sources.

    Lines are built once as rich markup. On a terminal they go through rich (colour); otherwise
    the markup is dropped by a plain write, which is as fast as CSV (rich's per-line rendering was
    20x slower on a big file)."""

    def __init__(self, out: TextIO, console: Console | None = None) -> None:
        self.out = out
        self.console = console
        self.totals: Counter[Severity] = Counter()
        self.claims = 0
        self.safe = 0
        self.failed = 0

    def _emit(self, markup: str, plain: str) -> None:
        if self.console is not None:
            self.console.print(markup)
        else:
            self.out.write(plain + "\n")

    def begin(self, kb: KbStamp) -> None:
        text = f"cartcode check  KB edition {kb.edition} (as of {kb.as_of})"
        self._emit(f"[bold]cartcode check[/]  KB edition {escape(kb.edition)} (as of {escape(kb.as_of)})", text)

    def _header(self, result: ClaimResult) -> tuple[str, str]:
        name = f"claim {result.id or '?'}"
        where = f"{result.source.file} #{result.source.index}"
        lead = f"{name}  {where}  "
        if self.console is None and not result.findings:  # the common case off a terminal: no markup
            return "", lead + ("could not be read" if result.status == "failed" else "clean")
        lead_markup = f"[bold]{escape(name)}[/]  {escape(where)}  "
        if result.status == "failed":
            return lead_markup + "[bold red]could not be read[/]", lead + "could not be read"
        if not result.findings:
            return lead_markup + "[green]clean[/]", lead + "clean"
        counts = _counts(result.findings)
        shown = [s for s in (Severity.ERROR, Severity.WARNING, Severity.INFO) if counts[s]]
        markup = ", ".join(f"[{_STYLE[s]}]{_plural(counts[s], s.value)}[/]" for s in shown)
        plain = ", ".join(_plural(counts[s], s.value) for s in shown)
        return lead_markup + markup, lead + plain

    def claim(self, result: ClaimResult) -> None:
        self.claims += 1
        self._emit("", "")
        self._emit(*self._header(result))
        if result.status == "failed":
            self.failed += 1
            self._emit(f"  [red]{escape(result.error or '')}[/]", f"  {result.error or ''}")
            return
        if result.findings:  # (a Counter per clean claim cost as much as the rest of the line)
            self.totals.update(_counts(result.findings))
        if result.grouping is not None:
            line = grouping_line(result.grouping)
            self._emit(f"  [dim]{escape(line)}[/]", f"  {line}")
        if result.estimate is not None:
            line = estimate_line(result.estimate)
            self._emit(f"  [dim]{escape(line)}[/]", f"  {line}")
        for f in result.findings:
            style = _STYLE[f.severity]
            self._emit(f"  [{style}]{f.severity.value:<7}[/] [bold]{f.rule}[/] {escape(f.name)}",
                       f"  {f.severity.value:<7} {f.rule} {f.name}")
            self._emit(f"          {escape(f.message)}", f"          {f.message}")
            loc = format_location(f.location)
            if loc:
                self._emit(f"          [dim]at[/] {escape(loc)}", f"          at {loc}")
            if f.fix is not None:
                kind = "safe fix" if f.fix.safe else "unsafe fix"
                colour = "green" if f.fix.safe else "yellow"
                self.safe += int(f.fix.safe)
                fix = format_fix(f)
                self._emit(f"          [{colour}]{kind}[/]: {escape(fix)}", f"          {kind}: {fix}")
            if f.sources:
                joined = ", ".join(f.sources)
                self._emit(f"          [dim]sources: {escape(joined)}[/]", f"          sources: {joined}")

    def end(self) -> None:
        self._emit("", "")
        parts = [_plural(self.claims - self.failed, "claim") + " checked"]
        plain_parts = list(parts)
        if self.failed:
            parts.append(f"[bold red]{self.failed} could not be read[/]")
            plain_parts.append(f"{self.failed} could not be read")
        counts = ", ".join(
            f"{_plural(self.totals[s], s.value)}" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        )
        parts.append(counts)
        plain_parts.append(counts)
        tail = ""
        if self.safe:
            tail = f" {_plural(self.safe, 'safe fix')} available (--fix --out PATH)."
        self._emit("; ".join(parts) + "." + tail, "; ".join(plain_parts) + "." + tail)


def write_report(report: Report, writer: ReportWriter) -> None:
    writer.begin(report.kb)
    for result in report.claims:
        writer.claim(result)
    writer.end()


def render_json(report: Report) -> str:
    buffer = io.StringIO()
    write_report(report, JsonWriter(buffer))
    return buffer.getvalue()


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    write_report(report, CsvWriter(buffer))
    return buffer.getvalue()
