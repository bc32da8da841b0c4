"""`cartcode batch ... --report`: report.html in the output folder, one self-contained page.

Built from summary.json plus one aggregate pass over findings.parquet (rule, name, severity, file:
three columns, read a row group at a time) and, when the claims table carries a date of service,
over claims.parquet; so it stays small and fast for a million claims. It holds aggregates only:
counts by rule, severity, file and month of service, never a claim id, a message, a location or
any value from a claim. Charts are inline SVG with each number written beside its bar (and the
same numbers in tables); no script, no stylesheet or font fetched from anywhere (the page opens
offline; its CSP says so).
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from cartcode.batch._files import write_bytes_atomic

REPORT_NAME: Final = "report.html"
# claims-table columns a month of service may come from (the first present wins)
DATE_COLUMNS: Final = ("service_month", "statement_from", "service_date", "date_of_service", "discharge_date")
TOP_RULES: Final = 15
MAX_FILES: Final = 50  # bars in the by-file chart; the table lists up to MAX_FILE_ROWS
MAX_FILE_ROWS: Final = 500
SEVERITIES: Final = ("error", "warning", "info")
_COLOURS: Final = {"error": "#b42318", "warning": "#8a5a00", "info": "#245a8d", "": "#0a58ca"}


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def rule_anchor(rule: str, name: str) -> str:
    """The rule's heading anchor in docs/rules.md (`## CART101 deleted-code` -> cart101-deleted-code)."""
    text = f"{rule} {name}".strip().lower()
    return "".join(c if c.isalnum() or c in "-_" else "-" if c == " " else "" for c in text)


def aggregate_findings(out: Path) -> dict[str, Any]:
    """Counts by (rule, severity), rule names, and severity by file, from findings.parquet."""
    by_rule_severity: Counter[tuple[str, str]] = Counter()
    by_file_severity: Counter[tuple[str, str]] = Counter()
    names: dict[str, str] = {}
    path = out / "findings.parquet"
    if path.exists():
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(columns=["file", "rule", "name", "severity"], batch_size=65_536):
                cols = batch.to_pydict()
                for file, rule, name, severity in zip(cols["file"], cols["rule"], cols["name"], cols["severity"],
                                                      strict=True):
                    by_rule_severity[(rule, severity)] += 1
                    by_file_severity[(file, severity)] += 1
                    names.setdefault(rule, name)
    return {"by_rule_severity": by_rule_severity, "by_file_severity": by_file_severity, "names": names}


def aggregate_months(out: Path) -> tuple[str | None, dict[str, tuple[int, int]]]:
    """Claims and findings by month of service (YYYY-MM), when the claims table has a date column."""
    path = out / "claims.parquet"
    if not path.exists():
        return None, {}
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        present = set(parquet.schema_arrow.names)
        column = next((c for c in DATE_COLUMNS if c in present), None)
        if column is None:
            return None, {}
        months: dict[str, list[int]] = {}
        for batch in parquet.iter_batches(columns=[column, "finding_count"], batch_size=65_536):
            cols = batch.to_pydict()
            for value, count in zip(cols[column], cols["finding_count"], strict=True):
                month = str(value)[:7] if value else "unknown"
                if not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
                    month = "unknown"
                slot = months.setdefault(month, [0, 0])
                slot[0] += 1
                slot[1] += int(count or 0)
    return column, {m: (v[0], v[1]) for m, v in sorted(months.items())}


# ----------------------------------------------------------------------------------- rendering
def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]], *, colour: str = "#0a58ca",
              colours: dict[str, str] | None = None) -> str:
    """A horizontal bar chart (inline SVG): each bar with its label and its number beside it."""
    if not items:
        return f'<p class="empty">{_esc(title)}: none.</p>'
    top = max(count for _, count in items) or 1
    row, label_w, bar_w = 22, 230, 420
    height = row * len(items) + 8
    parts = [f'<figure><figcaption id="{chart_id}-title">{_esc(title)}</figcaption>'
             f'<svg class="chart" id="{chart_id}" role="img" aria-labelledby="{chart_id}-title" '
             f'viewBox="0 0 {label_w + bar_w + 110} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for k, (label, count) in enumerate(items):
        y = 4 + k * row
        width = max(1.0, bar_w * count / top) if count else 0.0
        fill = (colours or {}).get(label, colour)
        short = label if len(label) <= 34 else "…" + label[-33:]
        parts.append(
            f'<g class="bar" data-label="{_esc(label)}" data-count="{count}">'
            f'<title>{_esc(label)}: {count:,}</title>'
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_esc(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" fill="{fill}"></rect>'
            f'<text class="count" x="{label_w + width + 6:.1f}" y="{y + 15}">{count:,}</text></g>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[object]], *, raw: int = -1) -> str:
    head = "".join(f'<th scope="col">{_esc(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td>{cell}</td>" if i == raw else
            f'<td class="num">{cell:,}</td>' if isinstance(cell, int) else f"<td>{_esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (f"<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


_STYLE: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0 auto;max-width:72rem;
padding:0 1rem 2rem;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-top:1px solid #d0d7de;padding-top:.6rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;padding:0;list-style:none}
.cards li{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .9rem;min-width:8rem}
.cards .n{display:block;font-size:1.4rem;font-weight:700}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem;max-width:100%}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:.5rem 0 1rem}figcaption{font-weight:600}
svg.chart{max-width:48rem;font-size:12px}svg.chart text{fill:#1b1f24}svg.chart text.count{font-weight:600}
code{font-family:ui-monospace,monospace}.muted{color:#57606a}
"""


def render(summary: dict[str, Any], agg: dict[str, Any], month_column: str | None,
           months: dict[str, tuple[int, int]]) -> str:
    kb = summary.get("kb") or {}
    sev = summary.get("findings_by_severity") or {}
    by_rule: dict[str, int] = summary.get("findings_by_rule") or {}
    names: dict[str, str] = agg["names"]
    rs: Counter[tuple[str, str]] = agg["by_rule_severity"]
    fs: Counter[tuple[str, str]] = agg["by_file_severity"]
    inputs = summary.get("inputs") or []

    cards = [("Claims read", summary.get("claims_read", 0)), ("Checked", summary.get("checked", 0)),
             ("Failed", summary.get("failed", 0)), ("Findings", summary.get("findings", 0)),
             *((s.capitalize(), int(sev.get(s, 0))) for s in SEVERITIES)]
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        "<title>cartcode batch report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>cartcode batch report</h1>",
        f'<p class="muted">KB {_esc(kb.get("edition", ""))} (as of {_esc(kb.get("as_of", ""))}); '
        f"{len(inputs):,} input{'s' if len(inputs) != 1 else ''}. Aggregates only: no claim ids, no claim "
        "content. The numbers come from summary.json and the findings table in this folder.</p>",
        '<h2 id="counts">Counts</h2><ul class="cards" id="cards">',
        *(f'<li data-name="{_esc(k)}" data-count="{v}"><span class="n">{v:,}</span>{_esc(k)}</li>' for k, v in cards),
        "</ul>",
        '<h2 id="severity">Findings by severity</h2>',
        bar_chart("chart-severity", "Findings by severity",
                  [(s, int(sev.get(s, 0))) for s in SEVERITIES] + [(s, int(n)) for s, n in sev.items()
                                                                   if s not in SEVERITIES],
                  colours=_COLOURS),
    ]
    ranked = sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    out += [
        '<h2 id="rules">Findings by rule</h2>',
        bar_chart("chart-rules", f"Top {min(TOP_RULES, len(ranked))} rules by findings", ranked[:TOP_RULES]),
        _table("Top rules, with their documentation", ["Rule", "Name", "Findings", "Documentation"],
               [(r, names.get(r, ""), n,
                 f"<code>cartcode rules {_esc(r)}</code> · docs/rules.md#{_esc(rule_anchor(r, names.get(r, '')))}")
                for r, n in ranked[:TOP_RULES]], raw=3),
        _table("Every rule, by severity", ["Rule", "Name", *SEVERITIES, "Total"],
               [(r, names.get(r, ""), *(rs.get((r, s), 0) for s in SEVERITIES), n) for r, n in ranked]),
    ]
    files = sorted(((i["file"], int(i.get("findings", 0)), int(i.get("claims", 0)), int(i.get("failed", 0)))
                    for i in inputs), key=lambda t: (-t[1], t[0]))
    out += [
        '<h2 id="files">Findings by file</h2>',
        bar_chart("chart-files", f"Findings by file (top {min(MAX_FILES, len(files))} of {len(files):,})",
                  [(f, n) for f, n, _, _ in files[:MAX_FILES]]),
        _table("Files", ["File", "Claims", "Failed", "Findings", *SEVERITIES],
               [(f, c, failed, n, *(fs.get((f, s), 0) for s in SEVERITIES))
                for f, n, c, failed in files[:MAX_FILE_ROWS]]),
    ]
    if len(files) > MAX_FILE_ROWS:
        out.append(f'<p class="muted">{len(files) - MAX_FILE_ROWS:,} more files: see summary.json.</p>')
    out.append('<h2 id="months">Findings by month of service</h2>')
    if month_column is None:
        out.append('<p class="muted" id="months-missing">The claims table of this batch has no date of service '
                   f"({', '.join(DATE_COLUMNS)}), so findings cannot be counted by month.</p>")
    else:
        out += [
            bar_chart("chart-months", f"Findings by month of service ({month_column})",
                      [(m, f) for m, (_, f) in months.items()]),
            _table("Months", ["Month", "Claims", "Findings"], [(m, c, f) for m, (c, f) in months.items()]),
        ]
    out.append("</body></html>\n")
    return "\n".join(out)


def build_report(out: Path) -> str:
    """The report's HTML for the batch output folder `out` (summary.json must be there)."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    column, months = aggregate_months(out)
    return render(summary, aggregate_findings(out), column, months)


def write_report(out: Path) -> Path:
    """Write `out`/report.html (0600, atomically, like batch's other files); returns its path."""
    path = out / REPORT_NAME
    write_bytes_atomic(path, build_report(out).encode("utf-8"))
    return path
