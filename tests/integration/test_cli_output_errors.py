"""Output problems are exit 2 with a clear message naming the path, never a traceback (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISTAKES = ROOT / "examples" / "claims" / "inpatient-mistakes.json"


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, text=True, input=stdin,
                          timeout=120)


def test_fix_out_into_an_existing_folder_is_exit_2(tmp_path: Path) -> None:
    done = _run("check", str(MISTAKES), "--fix", "--out", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and str(tmp_path) in done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_fix_out_into_a_read_only_folder_is_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    done = _run("check", str(MISTAKES), "--fix", "--out", str(folder / "fixed.json"))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_disk_full_is_exit_2() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "cartcode", "check", "--format", "json", str(MISTAKES)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "cannot write" in done.stderr


def test_a_lone_surrogate_in_a_claim_id_is_written_escaped() -> None:
    claim = json.loads(MISTAKES.read_text(encoding="utf-8"))
    first = claim["claims"][0] if "claims" in claim else claim
    first["id"] = "\ud800X"
    text = json.dumps(claim)  # ASCII with a \\ud800 escape, as a hostile file would carry it
    for fmt in ("json", "csv", "text"):
        done = _run("check", "--format", fmt, "-", stdin=text)
        assert done.returncode in (0, 1), (fmt, done.stderr)
        assert "Traceback" not in done.stderr and "\\ud800X" in done.stdout, fmt
    report = json.loads(_run("check", "--format", "json", "-", stdin=text).stdout)
    assert report["claims"][0]["id"] == "\ud800X"
