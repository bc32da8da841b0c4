"""The public API: a small, fixed set of names whose meaning never changes, whatever was imported."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import cartcode

PUBLIC = {"Claim", "Finding", "InputError", "Report", "check", "check_claim", "load_kb", "recommend"}


def test_the_public_names_are_exactly_these() -> None:
    assert set(cartcode.__all__) == PUBLIC


def test_functions_stay_functions_after_every_submodule_is_imported() -> None:
    # A fresh interpreter: import every module of the package first, then look the names up.
    code = (
        "import importlib, pkgutil, inspect, cartcode\n"
        "for m in pkgutil.walk_packages(cartcode.__path__, 'cartcode.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "from cartcode import recommend, check, check_claim, load_kb\n"
        "assert all(inspect.isfunction(f) or callable(f) and not inspect.ismodule(f)\n"
        "           for f in (recommend, check, check_claim, load_kb)), (recommend, check)\n"
        "assert not inspect.ismodule(cartcode.recommend) and not inspect.ismodule(cartcode.check)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_no_submodule_is_named_like_a_public_name() -> None:
    children = {m.name for m in pkgutil.iter_modules(cartcode.__path__)}
    assert not children & PUBLIC, children & PUBLIC


def test_the_names_resolve_to_what_they_say() -> None:
    from cartcode.errors import InputError

    assert issubclass(cartcode.InputError, Exception) and cartcode.InputError is InputError
    for name in ("recommend", "check", "check_claim", "load_kb"):
        assert callable(getattr(cartcode, name)) and not isinstance(getattr(cartcode, name), type(importlib))
