from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "tests" / "data" / "shared"


@pytest.fixture(scope="session")
def kb():  # type: ignore[no-untyped-def]
    from cartcode.kb.loader import load_kb

    return load_kb()
