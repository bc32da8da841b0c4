"""The build a user gets: `pip install .` runs compiled (mypyc, through the build backend's hook),
a source run gives the same answers, and `cartcode --version` says which build is running.

`scripts/setup.sh --test` installs the compiled wheel and sets CARTCODE_EXPECT_COMPILED=1, so CI
fails if the tests ever ran on a silently pure build."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cartcode import _build

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").rglob("*") if p.suffix in (".json", ".x12", ".edi"))


def _cartcode(*args: str, source: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if source:
        env["PYTHONPATH"] = str(SRC)  # the checkout's .py files ahead of the installed package
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)


def test_ci_runs_the_compiled_wheel() -> None:
    if os.environ.get("CARTCODE_EXPECT_COMPILED") != "1":
        pytest.skip("not the CI setup (scripts/setup.sh --test sets CARTCODE_EXPECT_COMPILED=1)")
    assert _build.compiled(), f"the tests import {_build.PROBE} from source: the wheel was not compiled"


def test_version_says_which_build_runs() -> None:
    installed = _cartcode("--version")
    assert installed.returncode == 0, installed.stderr
    expected = "compiled (mypyc)" if _build.compiled() else "from source (no compiled build)"
    assert installed.stdout.startswith("cartcode ") and expected in installed.stdout
    source = _cartcode("--version", source=True)
    assert source.returncode == 0 and "from source (no compiled build)" in source.stdout, source.stdout


def test_compiled_and_source_give_the_same_report() -> None:
    compiled = _cartcode("check", "--format", "json", *EXAMPLES)
    source = _cartcode("check", "--format", "json", *EXAMPLES, source=True)
    assert compiled.returncode == source.returncode and compiled.returncode in (0, 1), compiled.stderr
    assert compiled.stdout == source.stdout
    assert '"findings"' in compiled.stdout


def test_every_module_the_build_compiles_exists_and_is_typed_source() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    hook = config["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["custom"]
    paths = sorted({p for pattern in hook["compile"] for p in ROOT.glob(pattern)})
    assert len(paths) >= 40  # the hot path and every rule
    assert SRC / "cartcode" / "formats" / "x12" / "_reader.py" in paths  # the probe _build uses
    assert all(p.suffix == ".py" and p.is_relative_to(SRC / "cartcode") for p in paths)
