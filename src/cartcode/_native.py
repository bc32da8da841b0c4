"""Transitional shim (being removed): the C helper modules are gone, so there is none to import."""

from __future__ import annotations

from typing import Any


def c_module(name: str) -> Any:
    return None
