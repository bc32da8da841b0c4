"""`check --strict`: pyx12's implementation-guide errors as located findings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cartcode.findings import Severity
from cartcode.formats.x12._strict import validate
from shared_data import SHARED

SHARED_X12 = SHARED / "x12"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"


def test_clean_file_has_no_strict_findings() -> None:
    data = (SHARED_X12 / "professional" / "stupidedi-commercial-health-insurance.edi").read_bytes()
    assert validate(data, "c.edi") == []


def test_errors_are_located_by_segment_line_and_element() -> None:
    data = (SHARED_X12 / "malformed" / "imsweb-x12_bad_segment_identifier.txt").read_bytes()
    findings = validate(data, "b.txt")
    assert all(f.rule == "X12-STRICT" for f in findings)
    by_segment = {(f.location.get("segment"), f.location.get("element")) for f in findings}
    assert (23, "HI01-2") in by_segment  # HI*BK with no code
    se = [f for f in findings if "SE count" in f.message]
    assert se and se[0].location["segment"] == 36 and se[0].location["line"] == 36
    assert any("Nd4" in f.message and f.location.get("segment") == 11 for f in findings)


def test_st03_decides_the_map_when_gs08_disagrees() -> None:
    data = (SHARED_X12 / "institutional" / "zx12-837i_example.x12").read_bytes()
    findings = validate(data, "z.x12")
    info = [f for f in findings if f.severity == Severity.INFO]
    assert len(info) == 1 and "005010X223A2 map" in info[0].message and info[0].location["element"] == "GS08"


def test_a3_label_is_said_not_a_crash() -> None:
    data = (SHARED_X12 / "institutional" / "stupidedi-837-institutional-claim.edi").read_bytes()
    data = data.replace(b"005010X223A2", b"005010X223A3")
    findings = validate(data, "a3.edi")
    assert any("no map for 005010X223A3" in f.message for f in findings)


def test_unreadable_file_is_a_finding() -> None:
    data = (SHARED_X12 / "malformed" / "imsweb-x12_bad_first_line.txt").read_bytes()
    (finding,) = validate(data, "bad.txt")
    assert finding.severity == Severity.ERROR and "could not read" in finding.message


@pytest.mark.integration
def test_check_strict_on_the_command_line() -> None:
    path = FIXTURES / "cart-837i-outpatient.edi"
    run = subprocess.run(
        [sys.executable, "-m", "cartcode", "check", "--strict", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    rules = [f["rule"] for c in report["claims"] for f in c["findings"]]
    assert "X12-STRICT" in rules and "CART101" in rules
    plain = subprocess.run(
        [sys.executable, "-m", "cartcode", "check", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "X12-STRICT" not in plain.stdout
