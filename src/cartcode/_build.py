"""Which build of cartcode is running: the wheel's mypyc-compiled hot path, or its Python source.

The wheel's build hook (``hatch_build.py``) compiles the hot-path modules listed in
pyproject.toml; an editable install, or a machine without a C compiler, runs the same modules from
their ``.py`` files. Python imports whichever is installed: there is no switch and no guard here,
only the answer for ``cartcode --version`` and the benchmarks.
"""

from __future__ import annotations

import importlib
from pathlib import Path

# A module the build always compiles: whether it was loaded from an extension says which build runs.
PROBE = "cartcode.formats.x12._reader"
PACKAGE_DIR = Path(__file__).resolve().parent


def compiled() -> bool:
    origin = getattr(importlib.import_module(PROBE), "__file__", None) or ""
    return not origin.endswith(".py")


def describe() -> str:
    """One line for `cartcode --version` and the benchmarks."""
    return "compiled (mypyc)" if compiled() else "from source (no compiled build)"


def source_path(module: str) -> Path:
    """The .py file of one of cartcode's modules (a compiled module keeps it beside the extension)."""
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")
