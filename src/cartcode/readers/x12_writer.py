"""Writing fixes back into an 837 (first version: no fix means the input, byte for byte)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cartcode.errors import InputError
from cartcode.findings import Fix


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    if not any(fixes.values()):
        return data
    raise InputError("writing fixes into X12 is not available yet", where=file)
