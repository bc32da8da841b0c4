"""Fixtures the browser end-to-end tests share: a `cartcode serve` child process and the folder
their screenshots go to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from serverproc import ServerProcess, running_server


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$CARTCODE_ARTIFACTS (CI can keep them) or else a pytest temp directory."""
    configured = os.environ.get("CARTCODE_ARTIFACTS")
    directory = Path(configured) if configured else tmp_path_factory.mktemp("artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`cartcode serve` with its defaults, for one test module (a module may define its own)."""
    with running_server(log_path=tmp_path_factory.mktemp("server") / "server.log") as srv:
        yield srv
