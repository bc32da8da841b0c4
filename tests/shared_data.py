"""Where the tests find the shared real-world sample files (a vendored, byte-identical copy)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "tests" / "data" / "shared"
BRIEF_SHARED = ROOT.parent / "shared"  # the brief's original folder, when the clone sits beside it
