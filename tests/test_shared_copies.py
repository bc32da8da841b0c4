"""The vendored sample files are the shared ones, byte for byte (when the original is present)."""

from __future__ import annotations

import pytest

from shared_data import BRIEF_SHARED, SHARED


def test_vendored_samples_are_complete() -> None:
    names = {p.relative_to(SHARED).as_posix() for p in SHARED.rglob("*") if p.is_file()}
    assert {"x12/NOTICE.md", "fhir/NOTICE.md", "x12/professional/imsweb-x12_many_claims.txt"} <= names
    assert sum(1 for n in names if n.startswith("x12/malformed/")) == 3


def test_vendored_samples_match_the_brief_when_present() -> None:
    if not BRIEF_SHARED.is_dir():
        pytest.skip(f"the brief's shared folder {BRIEF_SHARED} is absent: only the vendored copy can be checked")
    for sub in ("x12", "fhir"):
        for original in (BRIEF_SHARED / sub).rglob("*"):
            if original.is_file():
                copy = SHARED / original.relative_to(BRIEF_SHARED)
                assert copy.read_bytes() == original.read_bytes(), copy
