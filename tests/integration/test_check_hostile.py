"""`cartcode check` on hostile input and hostile output folders (issue 14), as a subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISTAKES = ROOT / "examples" / "claims" / "inpatient-mistakes.json"
X12_MISTAKES = ROOT / "tests" / "fixtures" / "x12" / "cart-837i-inpatient.x12"
EOB = ROOT / "tests" / "fixtures" / "fhir" / "cart-eob-inpatient.json"


def _run(*args: str, stdin: bytes | None = None, timeout: float = 120,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, input=stdin,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _err(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("deep.json", b"[" * 100_000 + b"]" * 100_000),
        ("patient.json", b'{"resourceType": "Patient", "id": "x"}'),
        ("five.json", b'{"resourceType": 5}'),
        ("entry.json", b'{"resourceType": "Bundle", "entry": "nope"}'),
        ("empty.json", b""),
    ],
)
def test_files_with_no_claim_are_exit_2_without_a_traceback(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    done = _run("check", str(path))
    assert done.returncode == 2, _err(done)
    assert "Traceback" not in _err(done) and name in _err(done)


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.x12"
    os.mkfifo(fifo)
    done = _run("check", str(fifo), timeout=60)
    assert done.returncode == 2 and "--allow-special-files" in _err(done)


def test_dev_zero_is_refused_and_bounded_when_allowed() -> None:
    done = _run("check", "/dev/zero", timeout=60)
    assert done.returncode == 2 and "not a regular file" in _err(done)
    done = _run("check", "/dev/zero", "--allow-special-files", "--max-input-bytes", "1000000", timeout=60)
    assert done.returncode == 2 and "larger than the input limit" in _err(done)


def test_stdin_is_bounded_by_the_input_limit() -> None:
    done = _run("check", "-", stdin=MISTAKES.read_bytes(), env={"CARTCODE_MAX_INPUT_BYTES": "100"})
    assert done.returncode == 2 and "larger than the input limit" in _err(done)
    done = _run("check", str(MISTAKES), "--max-input-bytes", "100")
    assert done.returncode == 2 and "larger than the input limit" in _err(done)


def test_fix_out_through_a_hard_link_to_the_input_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(MISTAKES.read_bytes())
    link = tmp_path / "link.json"
    os.link(src, link)
    done = _run("check", str(src), "--fix", "--out", str(link))
    assert done.returncode == 2 and "overwrite an input" in _err(done)
    assert src.read_bytes() == MISTAKES.read_bytes()


def test_fix_out_over_the_file_stdin_reads_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.x12"
    src.write_bytes(X12_MISTAKES.read_bytes())
    with src.open("rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "cartcode", "check", "-", "--fix", "--out", str(src)],
                              stdin=stdin, capture_output=True, timeout=120)
    assert done.returncode == 2 and "overwrite an input" in _err(done)
    assert src.read_bytes() == X12_MISTAKES.read_bytes()


def _two_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """Two folders, each with a claim file (distinct names, so one --out folder takes both)."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "claims.json").write_bytes(MISTAKES.read_bytes())
    (b / "other.json").write_bytes(MISTAKES.read_bytes())
    return a, b


def test_a_planted_symlink_in_the_out_folder_is_refused(tmp_path: Path) -> None:
    a, b = _two_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "claims.json").symlink_to(victim)
    done = _run("check", str(a / "claims.json"), str(b / "other.json"), "--fix", "--out", str(out))
    assert done.returncode == 2 and "symbolic link" in _err(done), _err(done)
    assert victim.read_text() == "keep me"
    assert (out / "claims.json").is_symlink() and not (out / "other.json").exists()  # nothing written


def test_a_single_out_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "fixed.json"
    link.symlink_to(victim)
    done = _run("check", str(MISTAKES), "--fix", "--out", str(link))
    assert done.returncode == 2 and "symbolic link" in _err(done) and "Traceback" not in _err(done)
    assert victim.read_text() == "keep me" and link.is_symlink()


def test_fixed_copies_in_a_folder_are_created_0600(tmp_path: Path) -> None:
    a, b = _two_inputs(tmp_path)
    out = tmp_path / "out"
    done = _run("check", str(a / "claims.json"), str(b / "other.json"), "--fix", "--out", str(out))
    assert done.returncode in (0, 1), _err(done)
    for path in (out / "claims.json", out / "other.json"):
        assert json.loads(path.read_text()) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_fixed_copies_are_created_0600(tmp_path: Path) -> None:
    target = tmp_path / "fixed.json"
    done = _run("check", str(MISTAKES), "--fix", "--out", str(target))
    assert done.returncode in (0, 1), _err(done)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_lone_surrogate_in_a_fhir_file_is_fixed_without_a_traceback(tmp_path: Path) -> None:
    doc = json.loads(EOB.read_text())
    doc["id"] = "\ud800X"
    src = tmp_path / "eob.json"
    src.write_text(json.dumps(doc))
    done = _run("check", str(src), "--fix", "--out", str(tmp_path / "fixed.json"), "--format", "json")
    assert "Traceback" not in _err(done) and done.returncode in (0, 1, 2)
    if (tmp_path / "fixed.json").exists():
        assert json.loads((tmp_path / "fixed.json").read_text())["id"] == "\ud800X"


def test_a_damaged_interchange_fails_alone_in_check(tmp_path: Path) -> None:
    one = X12_MISTAKES.read_bytes().strip()
    parts = [one] * 5
    parts[2] = b"ISA#" + one[4:]
    path = tmp_path / "many.x12"
    path.write_bytes(b"\n".join(parts) + b"\n")
    done = _run("check", str(path), "--format", "json")
    assert done.returncode == 1, _err(done)
    claims = json.loads(done.stdout)["claims"]
    assert len(claims) == 5
    assert [c["status"] for c in claims].count("failed") == 1
