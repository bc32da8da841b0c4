"""Renderers for check reports: text (grouped by claim, colour on a terminal), JSON (CONTRACT.md) and CSV.

JSON is byte-identical for the same input: the report is already sorted (claims in input order,
findings by severity, rule and location) and nothing time-dependent is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape

from cartcode.findings import ClaimResult, Finding, Report, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}

CSV_COLUMNS = (
    "file", "claim_index", "claim_id", "status", "rule", "name", "severity", "message", "location",
    "codes", "fix", "fix_safe", "sources", "error",
)


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"


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


def render_csv(report: Report) -> str:
    """One row per finding (and one per claim that could not be read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in report.claims:
        base = [result.source.file, result.source.index, result.id or "", result.status]
        if result.status == "failed":
            writer.writerow([*base, "", "", "error", "", "", "", "", "", "", result.error or ""])
            continue
        for f in result.findings:
            writer.writerow([
                *base, f.rule, f.name, f.severity.value, f.message, format_location(f.location),
                " ".join(f"{c.system}:{c.code}" for c in f.codes), format_fix(f),
                "" if f.fix is None else str(f.fix.safe).lower(), " ".join(f.sources), "",
            ])
    return buffer.getvalue()


def _counts(findings: list[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}{'es' if word.endswith('x') else 's'}"


def _claim_header(result: ClaimResult) -> str:
    name = f"claim {escape(result.id or '?')}"
    where = f"{escape(result.source.file)} #{result.source.index}"
    if result.status == "failed":
        return f"[bold]{name}[/]  {where}  [bold red]could not be read[/]"
    counts = _counts(result.findings)
    if not result.findings:
        return f"[bold]{name}[/]  {where}  [green]clean[/]"
    summary = ", ".join(
        f"[{_STYLE[s]}]{_plural(counts[s], s.value)}[/]" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if counts[s]
    )
    return f"[bold]{name}[/]  {where}  {summary}"


def render_text(report: Report, console: Console) -> None:
    """The report for a person: grouped by claim, each finding with rule, location, fix and sources."""
    console.print(f"[bold]cartcode check[/]  KB edition {report.kb.edition} (as of {report.kb.as_of})")
    totals: Counter[Severity] = Counter()
    safe = 0
    failed = 0
    for result in report.claims:
        console.print()
        console.print(_claim_header(result))
        if result.status == "failed":
            failed += 1
            console.print(f"  [red]{escape(result.error or '')}[/]")
            continue
        totals.update(_counts(result.findings))
        for f in result.findings:
            style = _STYLE[f.severity]
            console.print(f"  [{style}]{f.severity.value:<7}[/] [bold]{f.rule}[/] {f.name}")
            console.print(f"          {escape(f.message)}")
            loc = format_location(f.location)
            if loc:
                console.print(f"          [dim]at[/] {escape(loc)}")
            if f.fix is not None:
                kind = "[green]safe fix[/]" if f.fix.safe else "[yellow]unsafe fix[/]"
                safe += int(f.fix.safe)
                console.print(f"          {kind}: {escape(format_fix(f))}")
            if f.sources:
                console.print(f"          [dim]sources: {escape(', '.join(f.sources))}[/]")
    console.print()
    parts = [_plural(len(report.claims) - failed, "claim") + " checked"]
    if failed:
        parts.append(f"[bold red]{failed} could not be read[/]")
    parts.append(", ".join(
        f"{_plural(totals[s], s.value)}" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
    ))
    line = "; ".join(parts) + "."
    if safe:
        line += f" {_plural(safe, 'safe fix')} available (--fix --out PATH)."
    console.print(line)
