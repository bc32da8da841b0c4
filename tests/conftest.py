"""Shared fixtures, the `integration` marker, and the rule for tests that need an absent tool.

Tests under tests/integration/ are marked `integration` (subprocesses, servers, Spark, Chromium,
wheel builds), and whole-KB sweeps are marked `slow`: `pytest -m "not integration and not slow"` is
the fast subset (under a minute, no gcc, Java or Chromium).
A test that needs a tool which is not installed skips with the reason; with
CARTCODE_REQUIRE_TOOLS=1 (set by scripts/test.sh, which installs everything) it fails instead,
so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "tests" / "data" / "shared"
INTEGRATION = ROOT / "tests" / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).is_relative_to(INTEGRATION):
            item.add_marker(pytest.mark.integration)


def require_tool(name: str, why: str) -> str:
    """The path of an executable the test needs; skip (locally) or fail (CI) without it."""
    found = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
    if found:
        return found
    message = f"{name} is not installed ({why}); ./scripts/setup.sh --test installs it"
    if os.environ.get("CARTCODE_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str, why: str) -> None:
    """Import a module the test needs; skip (locally) or fail (CI) without it."""
    try:
        __import__(name)
    except ImportError:
        message = f"the Python package {name} is not installed ({why}); ./scripts/setup.sh --test installs it"
        if os.environ.get("CARTCODE_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def kb():  # type: ignore[no-untyped-def]
    from cartcode.kb.loader import load_kb

    return load_kb()
