"""JSON Schemas shipped with the package (CONTRACT.md outputs)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A bundled schema by file stem, e.g. load_schema("recommend-answer")."""
    text = (resources.files("cartcode.schemas") / f"{name}.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
