"""`cartcode kb` (edition, previous edition, as-of, review log) and `cartcode kb diff OLD NEW`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cartcode.cli._kb_cmd import KB_PATH, kb_info
from cartcode.kb.diff import diff_kbs
from cartcode.kb.loader import KB, bundled_kb_dir, load_kb_from

ROOT = Path(__file__).resolve().parents[2]
AUDIT_COMMIT = "c96866b"  # KB 2026.12.0; its parent holds edition 2026.11.2


def cartcode(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=cwd)


def previous_revision() -> str:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: the previous edition is read from git history")
    done = subprocess.run([git, "rev-parse", "--verify", "--quiet", f"{AUDIT_COMMIT}~1^{{commit}}"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"revision {AUDIT_COMMIT}~1 is not available (no git history in this checkout)")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def old_kb(tmp_path_factory: pytest.TempPathFactory) -> KB:
    revision = previous_revision()
    directory = tmp_path_factory.mktemp("kb-old")
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{revision}:{KB_PATH}"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in names:
        text = subprocess.run(["git", "show", f"{revision}:{KB_PATH}/{name}"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
        (directory / name).write_text(text, encoding="utf-8")
    return load_kb_from(directory)


def changed(part: dict[str, Any], **key: str) -> dict[str, Any]:
    rows = [r for r in part["changed"] if all(r.get(k) == v for k, v in key.items())]
    assert rows, key
    row: dict[str, Any] = rows[0]
    return row


# ---------------------------------------------------------------- cartcode kb
def test_kb_info(kb: KB) -> None:
    info = kb_info(kb)
    assert info["edition"] == kb.edition and info["previous_edition"] == "2026.11.2"
    assert info["as_of"] == kb.as_of.isoformat() and info["as_of_means"] == "sources reviewed through"
    assert {e["topic"] for e in info["review_log"]} == {e.topic for e in kb.review_log}


def test_kb_command_text_and_json(kb: KB) -> None:
    text = cartcode("kb")
    assert text.returncode == 0, text.stderr
    assert f"edition {kb.edition} (previous edition 2026.11.2)" in text.stdout
    assert "sources reviewed through" in text.stdout and "not found:" in text.stdout
    data = json.loads(cartcode("kb", "--format", "json").stdout)
    assert data["edition"] == kb.edition and len(data["review_log"]) == len(kb.review_log)


# ---------------------------------------------------------------- kb diff
def test_diff_against_the_previous_edition(old_kb: KB, kb: KB) -> None:
    assert old_kb.edition == "2026.11.2"
    diff = diff_kbs(old_kb, kb)
    assert (diff["old"]["edition"], diff["new"]["edition"]) == ("2026.11.2", kb.edition)
    added = {(r["system"], r["code"]) for r in diff["codes"]["added"]}
    assert ("HCPCS", "Q2040") in added and ("modifier", "76") in added
    q2042 = changed(diff["codes"], code="Q2042")
    period = next(c for c in q2042["changes"] if c["field"] == "period")
    assert (period["old"], period["new"]) == ("open to open", "2019-01-01 to open")
    statuses = next(c for c in changed(diff["codes"], code="38228")["changes"] if c["field"] == "statuses")
    assert any("OPPS-SI S (2025-01-01 to 2025-12-31" in s for s in statuses["added"])
    assert any("OPPS-SI S (2025-01-01 to open" in s for s in statuses["removed"])
    labels = {c["field"] for c in changed(diff["codes"], code="Q2055")["changes"]}
    assert "description_confidence" in labels
    kx = {c["field"]: c for c in changed(diff["codes"], system="modifier", code="KX")["changes"]}
    assert kx["period"]["new"] == "2019-08-07 to 2025-06-25"
    policies = {r["id"] for r in diff["policies"]["added"]}
    assert {"office-product-modifiers-first-claim", "office-product-modifiers-later-claims"} <= policies
    assert diff["sources"]["added"] and diff["review_log"]["added"] and not diff["review_log"]["removed"]
    assert diff["decisions"]["added"] or diff["decisions"]["changed"]


def test_diff_command_with_a_revision_text_and_json(kb: KB) -> None:
    revision = previous_revision()
    text = cartcode("kb", "diff", revision, "bundled")
    assert text.returncode == 0, text.stderr
    assert "+ HCPCS Q2040" in text.stdout and "~ HCPCS Q2042" in text.stdout
    assert "period: open to open -> 2019-01-01 to open" in text.stdout
    data = json.loads(cartcode("kb", "diff", revision, "bundled", "--format", "json").stdout)
    assert data["old"]["edition"] == "2026.11.2" and data["new"]["edition"] == kb.edition


def test_diff_of_directories_and_the_same_kb_is_empty(tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(bundled_kb_dir(), copy)
    done = cartcode("kb", "diff", str(copy), "bundled", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for section in ("codes", "policies", "decisions", "sources", "products", "review_log"):
        assert data[section] == {"added": [], "removed": [], "changed": []}, section


def test_bad_revision_is_exit_2_without_traceback() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = cartcode("kb", "diff", "no-such-revision-xyz", "bundled")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cartcode: error:" in done.stderr


def test_outside_a_repository_a_revision_is_a_clear_error(tmp_path: Path) -> None:
    done = cartcode("kb", "diff", "HEAD~1", "bundled", cwd=tmp_path)
    # the editable install still finds the repository of the bundled KB; either way: no traceback
    assert done.returncode in (0, 2) and "Traceback" not in done.stderr


def test_invalid_kb_directory_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("edition: [", encoding="utf-8")
    done = cartcode("kb", "diff", str(tmp_path), "bundled")
    assert done.returncode == 2 and "Traceback" not in done.stderr and str(tmp_path) in done.stderr
