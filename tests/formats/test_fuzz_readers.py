"""Fuzz targets, one per format (issue 14): every reader is total (nothing but the documented
InputError escapes) and every claim in comes out, read or failed. Bounded: seconds, derandomized."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartcode.errors import InputError
from cartcode.formats import read_claims
from cartcode.model import Claim, ClaimError

ROOT = Path(__file__).resolve().parents[2]
EOB = json.loads((ROOT / "tests" / "fixtures" / "fhir" / "cart-eob-inpatient.json").read_text())
JSON_CLAIM = json.loads((ROOT / "examples" / "claims" / "outpatient-mistakes.json").read_text())
X12 = (ROOT / "tests" / "fixtures" / "x12" / "cart-837i-inpatient.x12").read_bytes()
BOUNDED = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                   suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.sampled_from(["\ud800", "1e999", "9" * 30, "2025-02-30", "0537T", "institutional", ""]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                          max_size=3), max_leaves=8)


def _items(data: bytes) -> list[Claim | ClaimError] | None:
    """The reader's items, or None for the one documented refusal (InputError)."""
    try:
        return list(read_claims(data, "fuzz"))
    except InputError:
        return None


def _mutate(doc: Any, draw: st.DrawFn) -> Any:
    """`doc` with one value somewhere replaced by a hostile one."""
    if isinstance(doc, dict) and doc and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc)))
        return {**doc, key: _mutate(doc[key], draw)}
    if isinstance(doc, list) and doc and draw(st.booleans()):
        i = draw(st.integers(0, len(doc) - 1))
        return [*doc[:i], _mutate(doc[i], draw), *doc[i + 1 :]]
    return draw(values)


@st.composite
def json_claim_files(draw: st.DrawFn) -> tuple[bytes, int]:
    claims = [_mutate(c, draw) if draw(st.booleans()) else c for c in JSON_CLAIM["claims"]]
    return json.dumps({"claims": claims}).encode(), len(claims)


@BOUNDED
@given(json_claim_files())
def test_our_json_reader_is_total_and_counts_every_claim(case: tuple[bytes, int]) -> None:
    data, count = case
    items = _items(data)
    assert items is not None and len(items) == count
    assert all(isinstance(i, Claim) or (i.location is not None and i.error) for i in items)


@BOUNDED
@given(st.binary(max_size=600) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    items = _items(data)
    assert items is None or all(isinstance(i, Claim | ClaimError) for i in items)


def _expected_fhir(entries: list[Any]) -> tuple[int, int]:
    """(claims, entries that are no resource) of a Bundle of `entries`, counted without the reader."""
    claims = bad = 0
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str):
            bad += 1
        elif rtype in ("Claim", "ExplanationOfBenefit"):
            claims += 1
    return claims, bad


@st.composite
def fhir_bundles(draw: st.DrawFn) -> tuple[bytes, tuple[int, int]]:
    entries: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["eob", "mutated", "patient", "junk"]))
        if kind == "eob":
            entries.append({"resource": EOB})
        elif kind == "mutated":
            key = draw(st.sampled_from(sorted(EOB)))
            entries.append({"resource": {**EOB, key: _mutate(EOB[key], draw), "resourceType": "ExplanationOfBenefit"}})
        elif kind == "patient":
            entries.append({"resource": {"resourceType": "Patient", "name": [{"given": ["Secret"]}]}})
        else:
            entries.append(draw(values))
    return json.dumps({"resourceType": "Bundle", "entry": entries}).encode(), _expected_fhir(entries)


@BOUNDED
@given(fhir_bundles())
def test_fhir_reader_is_total_and_counts_every_entry(case: tuple[bytes, tuple[int, int]]) -> None:
    data, (claims, bad) = case
    items = _items(data)
    if claims == 0:
        assert items is None  # a Bundle with no claim at all is refused, not passed
        return
    count = claims + bad
    assert items is not None and len(items) == count
    assert [i.source.index for i in items] == list(range(count))
    assert not any("Secret" in str(i) for i in items)


@st.composite
def x12_files(draw: st.DrawFn) -> bytes:
    data = bytearray(X12.strip() * draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(106, len(data) - 1))  # the first ISA stays readable
        piece = draw(st.sampled_from([b"~", b"*", b"ISA*", b"IEA*1*1~", b"~CLM*X*1***11:B:1~", b"\x00", b"9" * 30]))
        if draw(st.booleans()):
            data[pos:pos] = piece
        else:
            del data[pos : pos + draw(st.integers(1, 30))]
    return bytes(data)


LOST = re.compile(r"(\d+) (?:claim\(s\) in it|CLM segment\(s\) after it) not read")


def _clm_segments(data: bytes) -> int:
    """CLM segments by the first ISA's delimiters, counted without the reader."""
    term, el = data[105:106], data[3:4]
    return sum(1 for seg in data.split(term) if seg.lstrip(b" \t\r\n").startswith(b"CLM" + el))


@BOUNDED
@given(x12_files())
def test_x12_reader_is_total_and_accounts_for_every_clm(data: bytes) -> None:
    items = _items(data)
    assert items is not None
    accounted = 0
    for item in items:
        if isinstance(item, ClaimError) and item.id is None:  # an envelope entry says how many it lost
            match = LOST.search(item.error)
            accounted += int(match.group(1)) if match else 0
        else:
            accounted += 1
    assert accounted == _clm_segments(data)
