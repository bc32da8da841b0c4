"""Input adapters: bytes in, :class:`cartcode.model.Claim` (or :class:`ClaimError`) out.

The format is read from the content, never the file name (CONTRACT.md): X12 starts with `ISA`;
FHIR JSON has `resourceType`; any other JSON is our own claim format.

Each format module exposes the same two functions:

* ``read(data: bytes, file: str) -> Iterator[Claim | ClaimError]`` - every claim in input order;
  a claim that cannot be read is a ClaimError (status `failed`), never an exception;
* ``apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes`` - the input
  with the given fixes applied (keyed by the claim's 0-based index in the file), everything else
  unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from cartcode.findings import Fix
from cartcode.model import Claim, ClaimError

Format = Literal["x12", "fhir", "json"]


def detect_format(data: bytes) -> Format:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:3] == b"ISA":
        return "x12"
    if head[:1] in (b"{", b"["):
        # cheap look for resourceType first; a full parse only when the head is ambiguous
        if b'"resourceType"' in head:
            return "fhir"
        if b'"resourceType"' in data and _is_fhir(data):
            return "fhir"
    return "json"


def _is_fhir(data: bytes) -> bool:
    from cartcode.formats._limits import JsonProblem, parse_json

    try:
        doc = parse_json(data)
    except JsonProblem:
        return False
    return isinstance(doc, dict) and "resourceType" in doc


def read_claims(data: bytes, file: str) -> Iterator[Claim | ClaimError]:
    """Every claim in `data`, in input order, as Claim or ClaimError.

    Total: whatever the bytes, the only exception is an :class:`~cartcode.errors.InputError` for a
    file that holds no claim at all (empty, not JSON/X12/FHIR, a FHIR file with no Claim/EOB)."""
    from cartcode.formats._limits import empty_file, is_blank

    if is_blank(data):
        raise empty_file(file)
    fmt = detect_format(data)
    if fmt == "x12":
        from cartcode.formats.x12 import _reader as x12

        yield from x12.read(data, file)
    elif fmt == "fhir":
        from cartcode.formats.fhir import _reader as fhir

        yield from fhir.read(data, file)
    else:
        from cartcode.formats import _json as json_claims

        yield from json_claims.read(data, file)


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    """The input with `fixes` applied, written back in its own format."""
    fmt = detect_format(data)
    if fmt == "x12":
        from cartcode.formats.x12 import _reader as x12

        return x12.apply_fixes(data, file, fixes)
    if fmt == "fhir":
        from cartcode.formats.fhir import _reader as fhir

        return fhir.apply_fixes(data, file, fixes)
    from cartcode.formats import _json as json_claims

    return json_claims.apply_fixes(data, file, fixes)
