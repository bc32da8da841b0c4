"""`cartcode batch --report`: report.html's chart numbers are summary.json's; aggregates only."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cartcode.batch._report import REPORT_NAME, rule_anchor, write_report
from cartcode.batch._run import run

ROOT = Path(__file__).resolve().parents[2]


class _Charts(HTMLParser):
    """Each chart's bars (label, data-count, and the number written beside the bar), the cards,
    and every URL the page references."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[dict[str, Any]]] = {}
        self.cards: dict[str, int] = {}
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._chart: str | None = None
        self._bar: dict[str, Any] | None = None
        self._in_count = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        for key in ("src", "href", "action", "xlink:href"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if tag == "svg":
            self._chart = str(a["id"])
            self.charts[self._chart] = []
        elif tag == "g" and self._chart:
            self._bar = {"label": a["data-label"], "count": int(str(a["data-count"]))}
            self.charts[self._chart].append(self._bar)
        elif tag == "text" and self._bar is not None and "count" in (a.get("class") or ""):
            self._in_count = True
        elif tag == "li" and a.get("data-count") is not None:
            self.cards[str(a["data-name"])] = int(str(a["data-count"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "g":
            self._bar = None
        elif tag == "text":
            self._in_count = False

    def handle_data(self, data: str) -> None:
        if self._in_count and self._bar is not None:
            self._bar["shown"] = int(data.replace(",", ""))


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for sub in ("claims", "x12", "fhir"):
        for path in (ROOT / "examples" / sub).iterdir():
            shutil.copy(path, folder / f"{sub}-{path.name}")
    out = tmp_path_factory.mktemp("batch") / "out"
    run([str(folder)], out, progress=False)
    write_report(out)
    return out


def test_report_charts_match_the_summary(batch_out: Path) -> None:
    summary = json.loads((batch_out / "summary.json").read_text())
    page = _Charts()
    page.feed((batch_out / REPORT_NAME).read_text(encoding="utf-8"))
    for bars in page.charts.values():
        for bar in bars:
            assert bar["shown"] == bar["count"], bar  # the number beside each bar is its own
    severity = {b["label"]: b["count"] for b in page.charts["chart-severity"]}
    assert {k: v for k, v in severity.items() if v} == summary["findings_by_severity"]
    rules = {b["label"]: b["count"] for b in page.charts["chart-rules"]}
    top = sorted(summary["findings_by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    assert rules == dict(top)
    files = {b["label"]: b["count"] for b in page.charts["chart-files"]}
    assert files == {i["file"]: i["findings"] for i in summary["inputs"]}
    assert page.cards["Claims read"] == summary["claims_read"]
    assert page.cards["Findings"] == summary["findings"] == sum(severity.values())
    assert page.cards["Failed"] == summary["failed"]


def test_report_is_self_contained_and_has_no_claim_ids(batch_out: Path) -> None:
    text = (batch_out / REPORT_NAME).read_text(encoding="utf-8")
    page = _Charts()
    page.feed(text)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert page.urls == []  # nothing fetched, nothing linked out
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)
    assert "@import" not in text and "url(" not in text
    claims = (batch_out / "claims.csv").read_text()
    ids = {row.split(",")[2] for row in claims.splitlines()[1:] if row.split(",")[2]}
    assert ids and not any(claim_id in text for claim_id in ids)  # IP-2022-0105 ... never appear
    assert "cartcode rules CART101" in text
    assert "docs/rules.md#" + rule_anchor("CART101", "deleted-code") in text or "docs/rules.md#cart101" in text
    assert (batch_out / REPORT_NAME).stat().st_mode & 0o777 == 0o600
    assert len(text) < 200_000


def test_report_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cartcode.cli._main import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["batch", str(ROOT / "examples" / "x12"), "--out", str(out), "--report",
                                      "--no-progress"])
    assert result.exit_code in (0, 1), result.output
    assert (out / REPORT_NAME).exists()
    assert "<svg" in (out / REPORT_NAME).read_text()


def test_months_chart_when_the_claims_table_has_a_date() -> None:
    from collections import Counter

    from cartcode.batch._report import render

    summary = {"kb": {"edition": "x", "as_of": "2026-01-01"}, "claims_read": 5, "checked": 5, "failed": 0,
               "findings": 7, "findings_by_rule": {"CART101": 7}, "findings_by_severity": {"error": 7}, "inputs": []}
    agg = {"by_rule_severity": Counter({("CART101", "error"): 7}), "by_file_severity": Counter(), "names": {}}
    page = _Charts()
    page.feed(render(summary, agg, "statement_from", {"2025-05": (2, 3), "2025-06": (3, 4)}))
    assert {b["label"]: b["count"] for b in page.charts["chart-months"]} == {"2025-05": 3, "2025-06": 4}


def test_months_match_the_claims_and_findings_tables(batch_out: Path) -> None:
    """The months chart and table (service_month) are the claims and findings tables' own counts."""
    from collections import Counter

    import pyarrow.parquet as pq

    from cartcode.batch._report import aggregate_months

    claims = pq.read_table(batch_out / "claims.parquet").to_pylist()
    findings = pq.read_table(batch_out / "findings.parquet").to_pylist()
    month_of = {(c["file"], c["claim_index"]): c["service_month"] or "unknown" for c in claims}
    claims_by_month = Counter(month_of.values())
    findings_by_month = Counter(month_of[(f["file"], f["claim_index"])] for f in findings)
    assert set(findings_by_month) <= set(claims_by_month)
    want = {m: (claims_by_month[m], findings_by_month.get(m, 0)) for m in sorted(claims_by_month)}
    assert aggregate_months(batch_out) == ("service_month", want)
    assert {"2022-01", "2025-03"} <= set(want)  # the examples' months of service
    text = (batch_out / REPORT_NAME).read_text(encoding="utf-8")
    assert 'id="months-missing"' not in text
    page = _Charts()
    page.feed(text)
    bars = {b["label"]: b["count"] for b in page.charts["chart-months"]}
    assert bars == {m: f for m, (_, f) in want.items()}
    assert sum(bars.values()) == json.loads((batch_out / "summary.json").read_text())["findings"]
