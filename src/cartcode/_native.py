"""Which of cartcode's modules run compiled (mypyc) and which run from their source.

The batch hot path (X12 reader, claim builder, rule context, engine, rules, batch rows) is
compiled with mypyc by ``scripts/build_native.py``, with two small C modules (``_modelnew.c``:
pydantic model instances without Python-level calls; ``_bytescan.c``: the X12 reader's segment
and line counts in one pass, and the X12 pre-filter's candidate positions), in place:
``x12.py`` gets an ``x12.cpython-*.so`` beside it, which Python imports first. The ``.py`` files
stay the source of truth; the build writes ``native.json`` with each source's SHA-256.

At import (``cartcode/__init__.py`` imports this module first) the compiled modules are used only
when every one matches its source: compiled modules call each other directly, not through
``sys.modules``, so it is all or none. Otherwise (a source edited since the build, another
Python, no build at all) or with ``CARTCODE_PURE=1``, a finder placed ahead of the standard
ones loads them from their ``.py`` files. Answers are the same either way (tests run both).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

# The modules scripts/build_native.py compiles: the hot path and every rule (the rule catalogue
# reads a compiled rule's docstring and path from its .py). Pydantic models (model.py,
# findings.py) stay interpreted: mypyc cannot compile classes with pydantic's metaclass.
PACKAGE_DIR = Path(__file__).resolve().parent


def _rule_modules() -> tuple[str, ...]:
    """Every rule module (rules/<family>/cartNNN_<name>.py), as the rule catalogue finds them."""
    rules = PACKAGE_DIR / "checker" / "rules"
    return tuple(
        f"cartcode.checker.rules.{p.parent.name}.{p.stem}"
        for p in sorted(rules.glob("*/cart[0-9]*_*.py"))
        if (p.parent / "__init__.py").exists()
    )


MODULES: tuple[str, ...] = (
    "cartcode._codeformat",
    "cartcode.formats._fastbuild",
    "cartcode.formats.x12._tokenizer",
    "cartcode.formats.x12._claim",
    "cartcode.formats.x12._reader",
    "cartcode.formats.x12._prefilter",
    "cartcode.checker._context",
    "cartcode.checker._engine",
    "cartcode.batch._rows",
    "cartcode.formats.x12._stream",
    "cartcode.batch._check",
    *_rule_modules(),
)
# Extension modules written in C (module -> its source file in the package), built beside the
# mypyc ones; each has a Python fallback where it is imported.
C_MODULES: dict[str, str] = {"cartcode._modelnew": "_modelnew.c", "cartcode._bytescan": "_bytescan.c"}
BUILT: tuple[str, ...] = (*MODULES, *C_MODULES)  # everything the build produces and the stamp covers
GROUP = "cartcode._native"  # mypyc's shared library for the group: cartcode/native__mypyc.*.so
STAMP = PACKAGE_DIR / "native.json"
PURE_ENV = "CARTCODE_PURE"


def c_module(name: str) -> Any:
    """The C extension module `name` (one of C_MODULES), or None when it is not built or not in
    use (a run from source: the finder below makes it unimportable). Its importers keep a Python
    fallback for each function."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def source_path(module: str) -> Path:
    """The .py file of a module (the .c file of a C extension module)."""
    if module in C_MODULES:
        return PACKAGE_DIR / C_MODULES[module]
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")


def source_digest(module: str) -> str:
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


def build_tag() -> str:
    """What a compiled module is only good for: this interpreter's extension suffix."""
    return importlib.machinery.EXTENSION_SUFFIXES[0]


def compiled_path(module: str) -> Path | None:
    base = PACKAGE_DIR.parent.joinpath(*module.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = base.with_name(base.name + suffix)
        if candidate.exists():
            return candidate
    return None


class Status(NamedTuple):  # (not a dataclass: `import cartcode` stays free of dataclasses/inspect)
    compiled: bool
    reason: str  # why not, or "mypyc build matches the sources"


def decide(stamp: dict[str, object] | None, digests: dict[str, str], tag: str, pure_env: bool) -> Status:
    """All compiled or all from source, from the build stamp and the sources' digests now."""
    if pure_env:
        return Status(False, f"{PURE_ENV}=1")
    if stamp is None:
        return Status(False, "no compiled build (scripts/build_native.py)")
    if stamp.get("tag") != tag:
        return Status(False, f"compiled for {stamp.get('tag')}, this Python needs {tag}")
    built = stamp.get("modules")
    if not isinstance(built, dict) or set(built) != set(digests):
        return Status(False, "the compiled build covers other modules than cartcode._native.BUILT")
    stale = sorted(m for m, digest in digests.items() if built.get(m) != digest)
    if stale:
        return Status(False, f"source changed since the compiled build: {', '.join(stale)}")
    return Status(True, "mypyc build matches the sources")


class _FromSource:
    """Finds the listed modules as their .py files, ahead of the compiled extensions; the C
    extension modules are not found at all (their importers fall back to Python). A meta path
    finder needs only `find_spec`; not deriving from importlib.abc keeps importlib.resources (and
    tempfile) out of every start-up."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        if fullname in C_MODULES:
            raise ModuleNotFoundError(f"{fullname} is not used: running from source", name=fullname)
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


def _read_stamp() -> dict[str, object] | None:
    try:
        data = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _install() -> Status:
    present = [m for m in BUILT if compiled_path(m) is not None]
    if not present:
        return Status(False, "no compiled build (scripts/build_native.py)")
    pure_env = os.environ.get(PURE_ENV, "") not in ("", "0")
    status = decide(_read_stamp(), {m: source_digest(m) for m in BUILT}, build_tag(), pure_env)
    if not status.compiled:
        if not pure_env:
            warnings.warn(
                f"cartcode: not using the compiled modules ({status.reason}); running from source, slower. "
                "Rebuild with: .venv/bin/python scripts/build_native.py",
                RuntimeWarning,
                stacklevel=3,
            )
        sys.meta_path.insert(0, _FromSource(present))
    return status


STATUS = _install()


def describe() -> str:
    """One line for `cartcode --version` and the benchmarks."""
    return "compiled (mypyc)" if STATUS.compiled else f"from source ({STATUS.reason})"
