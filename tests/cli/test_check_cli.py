"""`cartcode check` and `cartcode rules` end to end (in process, through cli.main)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest

from cartcode.checker._registry import all_rules
from cartcode.cli import main
from cartcode.schemas import load_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "claims"
MISTAKES = EXAMPLES / "outpatient-mistakes.json"
CLEAN = EXAMPLES / "outpatient-carvykti-clean.json"


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["cartcode", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_names_kb_rules_locations_fixes_and_sources(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, monkeypatch, "check", str(MISTAKES))
    assert code == 1
    assert "KB edition" in out
    assert "CART101 code-outside-valid-period" in out
    assert "$.claims[0].lines[0].code" in out
    assert "safe fix: Replace 0540T with 38228" in out
    assert "sources: " in out


def test_clean_claim_exits_0(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, monkeypatch, "check", str(CLEAN))
    assert code == 0 and "clean" in out


def test_json_validates_and_is_byte_identical(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    files = [str(p) for p in sorted(EXAMPLES.glob("*.json"))]
    code, first, _ = run(capsys, monkeypatch, "check", *files, "--format", "json")
    _, second, _ = run(capsys, monkeypatch, "check", *files, "--format", "json")
    assert code == 1 and first == second
    report = json.loads(first)
    jsonschema.validate(report, load_schema("check-report"))
    assert report["kb"]["edition"]
    ids = [c["id"] for c in report["claims"]]
    assert len(ids) == len(set(ids)) >= 10  # every claim once, in input order
    assert [c["source"]["index"] for c in report["claims"] if c["source"]["file"] == str(MISTAKES)] == [0, 1, 2]
    finding = report["claims"][1]["findings"][0]
    assert set(finding) >= {"rule", "name", "severity", "message", "location", "codes", "sources"}


def test_csv_has_a_row_per_finding(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = run(capsys, monkeypatch, "check", str(MISTAKES), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    _, js, _ = run(capsys, monkeypatch, "check", str(MISTAKES), "--format", "json")
    total = sum(len(c["findings"]) for c in json.loads(js)["claims"])
    assert len(rows) == total > 0
    assert rows[0]["rule"].startswith("CART") and rows[0]["location"].startswith("$.claims[")


def test_unreadable_files_exit_2_naming_the_file(capsys, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.json"
    code, _, err = run(capsys, monkeypatch, "check", str(missing))
    assert code == 2 and "nope.json" in err and "Traceback" not in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "professional",')
    code, out, err = run(capsys, monkeypatch, "check", str(broken), str(CLEAN), "--format", "json")
    assert code == 2 and "broken.json" in err and "line 1" in err
    assert len(json.loads(out)["claims"]) == 1  # the readable file is still reported


def test_a_claim_that_cannot_be_read_is_failed_and_exits_1(capsys, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"claims": [{"kind": "professional", "id": "ok"}, {"kind": "x", "id": "bad"}]}))
    code, out, _ = run(capsys, monkeypatch, "check", str(path), "--format", "json")
    claims = json.loads(out)["claims"]
    assert code == 1
    assert [c["status"] for c in claims] == ["checked", "failed"]
    assert "$.claims[1].kind" in claims[1]["error"]


def test_fix_writes_a_corrected_copy_that_checks_clean_of_the_fixed_rules(capsys, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.json"
    shutil.copy(MISTAKES, src)
    before = src.read_bytes()
    out_file = tmp_path / "fixed.json"
    _, js, _ = run(capsys, monkeypatch, "check", str(src), "--format", "json")
    fixed_rules = {
        (c["source"]["index"], f["rule"]) for c in json.loads(js)["claims"] for f in c["findings"]
        if f.get("fix", {}).get("safe")
    }
    assert fixed_rules
    code, _, err = run(capsys, monkeypatch, "check", str(src), "--fix", "--out", str(out_file))
    assert code == 1 and "wrote" in err
    assert src.read_bytes() == before  # never the input
    _, js2, _ = run(capsys, monkeypatch, "check", str(out_file), "--format", "json")
    after = {(c["source"]["index"], f["rule"]) for c in json.loads(js2)["claims"] for f in c["findings"]}
    assert not (fixed_rules & after)


def test_fix_refuses_to_overwrite_and_needs_out(capsys, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.json"
    shutil.copy(MISTAKES, src)
    assert run(capsys, monkeypatch, "check", str(src), "--fix")[0] == 2
    assert run(capsys, monkeypatch, "check", str(src), "--fix", "--out", str(src))[0] == 2
    assert run(capsys, monkeypatch, "check", str(src), "--out", str(tmp_path / "x.json"))[0] == 2
    other = tmp_path / "other.json"
    shutil.copy(CLEAN, other)
    outdir = tmp_path / "fixed"
    code, _, _ = run(capsys, monkeypatch, "check", str(src), str(other), "--fix", "--out", str(outdir))
    assert code == 1 and (outdir / "in.json").exists() and (outdir / "other.json").exists()


def test_select_and_ignore(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = run(capsys, monkeypatch, "check", str(MISTAKES), "--format", "json", "--select", "CART101")
    rules = {f["rule"] for c in json.loads(out)["claims"] for f in c["findings"]}
    assert rules == {"CART101"}
    _, out, _ = run(capsys, monkeypatch, "check", str(MISTAKES), "--format", "json", "--ignore",
                    "code-outside-valid-period,CART7")
    rules = {f["rule"] for c in json.loads(out)["claims"] for f in c["findings"]}
    assert "CART101" not in rules and not any(r.startswith("CART7") for r in rules)
    code, _, err = run(capsys, monkeypatch, "check", str(MISTAKES), "--select", "CART999")
    assert code == 2 and "CART999" in err


def test_rules_lists_and_documents(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, monkeypatch, "rules", "--format", "json")
    assert code == 0
    listed = [r["id"] for r in json.loads(out)["rules"]]
    assert listed == [r.id for r in all_rules()]
    code, out, _ = run(capsys, monkeypatch, "rules", "code-outside-valid-period")
    assert code == 0
    for heading in ("# CART101 code-outside-valid-period", "## What it checks", "## Why is this bad?", "## Fix",
                    "## Fix safety", "## References", "## Examples", "fcso-oncology-table"):
        assert heading in out
    code, out, _ = run(capsys, monkeypatch, "rules")
    assert code == 0 and "CART401" in out
    code, _, err = run(capsys, monkeypatch, "rules", "CART10")
    assert code == 2 and "CART101" in err


def test_stdin_is_read_with_a_dash(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MISTAKES.read_bytes())))
    code, out, _ = run(capsys, monkeypatch, "check", "-", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["claims"][0]["source"]["file"] == "<stdin>"
