"""`cartcode check` on a big plain X12 file takes the batch fast path, with the same answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cartcode.cli import _check_cmd as check_cmd

ROOT = Path(__file__).resolve().parents[2]
CART_837 = sorted((ROOT / "examples" / "x12").glob("*.x12"))


def _run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = check_cmd.run_check(check_cmd.CheckOptions(files=[path], format=check_cmd.CheckFormat.json))
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", CART_837, ids=lambda p: p.name)
def test_fast_path_gives_the_full_paths_answer(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _run(path, capsys)
    monkeypatch.setattr(check_cmd, "FAST_PATH_BYTES", 0)
    assert check_cmd._use_fast_path(path, check_cmd.CheckOptions(files=[path]))
    fast = _run(path, capsys)
    assert fast == full
    assert any(claim["findings"] for claim in full[1]["claims"])  # type: ignore[union-attr]


def test_small_files_and_fix_runs_take_the_full_path(tmp_path: Path) -> None:
    path = CART_837[0]
    assert not check_cmd._use_fast_path(path, check_cmd.CheckOptions(files=[path]))
    options = check_cmd.CheckOptions(files=[path], fix=True, out=tmp_path / "out.x12")
    assert not check_cmd._use_fast_path(path, options)
