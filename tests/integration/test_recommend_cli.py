"""`cartcode recommend` end to end: flags, file, stdin, flags over file fields, exit codes 0/2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from cartcode.schemas import load_schema


def cartcode(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


DONE_WHEN = ["recommend", "--setting", "inpatient", "--date", "2025-06-01", "--product", "Breyanzi",
             "--route", "central", "--payer", "medicare"]


def test_done_when_text_shows_codes_with_sources() -> None:
    result = cartcode(*DONE_WHEN)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in ("XW043N7", "0874", "MS-DRG 018", "astct-2025-04", "KB edition"):
        assert needle in out, needle
    lines = out.splitlines()
    for code in ("XW043N7", "0874"):
        row = next(line for line in lines if code in line)
        assert "astct-2025-04" in row or "V-" in row  # the source column of that row
    drg = next(line for line in lines if line.lstrip().startswith("MS-DRG 018"))
    assert "[" in drg  # its sources in brackets


def test_json_output_validates() -> None:
    result = cartcode(*DONE_WHEN, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema("recommend-answer"))
    assert [c["code"] for c in data["codes"] if c["system"] == "ICD-10-PCS"] == ["XW043N7"]


def test_file_and_stdin_with_flags_overriding(tmp_path: Path) -> None:
    encounter = {"setting": "outpatient", "date": "2024-12-31", "product": "axi-cel", "payer": "medicare"}
    path = tmp_path / "enc.json"
    path.write_text(json.dumps(encounter), encoding="utf-8")
    from_file = json.loads(cartcode("recommend", str(path), "--format", "json").stdout)
    assert "0540T" in [c["code"] for c in from_file["codes"]]
    overridden = json.loads(cartcode("recommend", str(path), "--date", "2025-01-01", "--format", "json").stdout)
    assert overridden["encounter"]["date"] == "2025-01-01"
    assert "38228" in [c["code"] for c in overridden["codes"]]
    from_stdin = cartcode("recommend", "-", "--format", "json", stdin=json.dumps(encounter))
    assert from_stdin.returncode == 0 and json.loads(from_stdin.stdout)["encounter"]["product"] == "yescarta"


def _assert_input_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("cartcode: error:")
    for needle in needles:
        assert needle.casefold() in result.stderr.casefold(), (needle, result.stderr)


def test_exit_2_unknown_product_with_close_matches() -> None:
    _assert_input_error(cartcode("recommend", "--setting", "inpatient", "--date", "2025-01-01", "--product", "Kymria"),
                        "product", "kymriah")


def test_exit_2_impossible_date_and_bad_payer() -> None:
    _assert_input_error(cartcode("recommend", "--setting", "inpatient", "--date", "2025-02-30", "--product", "Kymriah"),
                        "date", "impossible")
    _assert_input_error(cartcode("recommend", "--setting", "inpatient", "--date", "2025-01-01", "--product", "Kymriah",
                                 "--payer", "aetna"), "payer")


def test_exit_2_no_valid_code_on_the_date() -> None:
    result = cartcode("recommend", "--setting", "outpatient", "--date", "2018-12-01", "--product", "Kymriah")
    _assert_input_error(result, "2019-01-01")


def test_exit_2_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    _assert_input_error(cartcode("recommend", str(bad)), "bad.json", "line 1")
    _assert_input_error(cartcode("recommend", str(tmp_path / "missing.json")), "missing.json")
    _assert_input_error(cartcode("recommend", "-", stdin='{"setting": "inpatient", "date": "2025-01-01"}'),
                        "product", "missing")
