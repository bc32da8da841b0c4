"""Property tests: arbitrary and mutated 837 bytes never raise, and every CLM is accounted for."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartcode.formats.x12 import _reader as x12
from cartcode.model import Claim, ClaimError
from shared_data import SHARED

SHARED_X12 = SHARED / "x12"
SOURCES = [
    (SHARED_X12 / "institutional" / "zx12-837i_example.x12").read_bytes(),
    (SHARED_X12 / "institutional" / "stupidedi-two-claims-for-the-same-provider.edi").read_bytes(),
    (SHARED_X12 / "professional" / "imsweb-x12_valid.txt").read_bytes(),
    (SHARED_X12 / "professional" / "stupidedi-drug-administered-in-the-physician-office.edi").read_bytes(),
    (Path(__file__).resolve().parents[1] / "fixtures" / "x12" / "cart-837i-inpatient.x12").read_bytes(),
]
LOST = re.compile(r"(\d+) (?:claim\(s\) in it|CLM segment\(s\) after it) not read")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _without_notes(item: object) -> dict[str, object]:
    data = dataclasses.asdict(item)  # type: ignore[call-overload]
    data.pop("input_notes", None)
    return data  # type: ignore[no-any-return]


def clm_segments(data: bytes) -> int:
    """CLM segments by the first ISA's delimiters, counted without the reader."""
    term, el = data[105:106], data[3:4]
    return sum(1 for seg in data.split(term) if seg.lstrip(b" \t\r\n").startswith(b"CLM" + el))


def accounted(items: list[Claim | ClaimError]) -> int:
    total = 0
    for item in items:
        if isinstance(item, ClaimError) and item.id is None:  # an envelope entry: says how many it lost
            match = LOST.search(item.error)
            total += int(match.group(1)) if match else 0
        else:
            total += 1
    return total


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(106, len(data) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate", "delimiter"]))
        if kind == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=30))
        elif kind == "replace":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "duplicate":
            end = min(len(data), pos + draw(st.integers(1, 200)))
            data[pos:pos] = data[pos:end]
        elif kind == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(
                st.sampled_from([b"~", b"*", b":", b"~CLM*X*1***11:B:1~", b"~HL*9*1*22*0~", b"~SE*1*1~"])
            )
        if len(data) <= 107:
            break
    return bytes(data)


def test_mutations_reach_the_error_paths() -> None:
    """The strategy is not vacuous: some mutants fail claims or envelopes."""
    kinds: set[str] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(mutated())
    def collect(data: bytes) -> None:
        for item in x12.read(data, "m"):
            if isinstance(item, ClaimError):
                kinds.add("envelope" if item.id is None else "claim")
            elif item.input_notes:
                kinds.add("notes")

    collect()
    assert "notes" in kinds and kinds & {"claim", "envelope"}, kinds


def check_items(items: list[Claim | ClaimError]) -> None:
    assert all(isinstance(i, Claim | ClaimError) for i in items)
    assert [i.source.index for i in items] == list(range(len(items)))
    for item in items:
        if isinstance(item, ClaimError):
            assert item.error  # says why
            assert "could not be read (" not in item.error, item.error  # the reader's safety net: a bug


@SETTINGS
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    check_items(list(x12.read(data, "fuzz.x12")))


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_after_a_real_isa(tail: bytes) -> None:
    data = SOURCES[2][:106] + tail
    items = list(x12.read(data, "fuzz.x12"))
    check_items(items)
    assert accounted(items) == clm_segments(data)


@SETTINGS
@given(mutated())
def test_mutated_837_every_clm_accounted(data: bytes) -> None:
    items = list(x12.read(data, "mut.x12"))
    check_items(items)
    assert accounted(items) == clm_segments(data)


@SETTINGS
@given(mutated(), st.integers(16, 400))
def test_mutated_837_stream_equals_memory(data: bytes, block: int) -> None:
    whole = [dataclasses.asdict(i) for i in x12.read(data, "m")]
    streamed = [dataclasses.asdict(i) for i in x12.read_stream(io.BytesIO(data), "m", block_size=block)]
    assert [(i["id"], i["source"]["index"]) for i in streamed] == [(i["id"], i["source"]["index"]) for i in whole]


PREFILTER = re.compile(rb"99211|ABC0002|Q2041|XW0|85025")


def _sequence_with_skips(data: bytes, block: int | None = None) -> list[tuple[int, str | None, str]]:
    out: list[tuple[int, str | None, str]] = []

    def skipped(index: int, claim_id: str) -> None:
        out.append((index, claim_id, "skipped"))

    if block is None:
        items = x12.read(data, "m", prefilter=PREFILTER, skipped=skipped)
    else:
        items = x12.read_stream(io.BytesIO(data), "m", prefilter=PREFILTER, skipped=skipped, block_size=block)
    for item in items:
        kind = "failed" if isinstance(item, ClaimError) else ("minimal" if not item.lines else "full")
        out.append((item.source.index, item.id, kind))
    return out


@SETTINGS
@given(mutated(), st.integers(16, 400))
def test_prefilter_and_skips_account_for_every_claim_in_order(data: bytes, block: int) -> None:
    """Skipped claims (reported in runs) and yielded items together are the plain read, in order."""
    plain = [(i.source.index, i.id) for i in x12.read(data, "m")]
    for seq in (_sequence_with_skips(data), _sequence_with_skips(data, block)):
        assert [(i, c) for i, c, _ in seq] == plain
    # a claim the prefilter lets through is read exactly as without it (notes aside: segment
    # identifiers are checked only around claims read in full)
    plain_dump = {i.source.index: _without_notes(i) for i in x12.read(data, "m")}
    for item in x12.read(data, "m", prefilter=PREFILTER):
        if isinstance(item, Claim) and item.lines:
            assert _without_notes(item) == plain_dump[item.source.index]


def test_skip_runs_on_a_big_file() -> None:
    data = SOURCES[2]
    body_start, body_end = data.index(b"HL*1**20*1"), data.index(b"SE*")
    big = data[:body_start] + data[body_start:body_end] * 300 + data[body_end:]
    seq = _sequence_with_skips(big)
    plain = [(i.source.index, i.id) for i in x12.read(big, "m")]
    assert [(i, c) for i, c, _ in seq] == plain
    kinds = [k for _, _, k in seq]
    assert kinds.count("skipped") > 250 and "full" in kinds


@st.composite
def broken_identifiers(draw: st.DrawFn) -> bytes:
    """A sample with segment identifiers broken in the ways the bad-segment check knows: empty
    and blank segments, lower case, too long or short, no element separator, line breaks."""
    data = draw(st.sampled_from(SOURCES))
    term, el = data[105:106], data[3:4]
    segments = data[106:].split(term)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(segments) - 1))
        seg = segments[i]
        kind = draw(st.sampled_from(["empty", "blank", "lower", "long", "short", "bare", "digit", "lead", "tail"]))
        if kind == "empty":
            segments.insert(i, b"")
        elif kind == "blank":
            segments.insert(i, draw(st.sampled_from([b" ", b"\n", b"\r\n", b" \t "])))
        elif kind == "lower":
            segments[i] = seg.lower()
        elif kind == "long":
            segments[i] = b"ABCD" + el + seg
        elif kind == "short":
            segments[i] = b"A" + el + seg
        elif kind == "bare":
            segments[i] = seg.split(el)[0]  # the identifier alone, then the terminator
        elif kind == "digit":
            segments[i] = b"9" + seg
        elif kind == "lead":
            segments[i] = draw(st.sampled_from([b"\n", b"\r\n", b"  "])) + seg
        else:
            segments[i] = seg + draw(st.sampled_from([b"\n", b" ", b"\nZZ"]))
    return data[:106] + term.join(segments)


def _reference_bad_segment(d: x12.Delimiters) -> re.Pattern[bytes]:
    """The bad-segment pattern as first written, with backtracking quantifiers."""
    t, e = re.escape(d.segment), re.escape(d.element)
    return re.compile(t + rb"[ \t\r\n]*(?=[^ \t\r\n])(?![A-Z][A-Z0-9]{1,2}(?:" + e + b"|" + t + b"))")


@SETTINGS
@given(st.one_of(broken_identifiers(), mutated()), st.integers(0, 10_000), st.integers(0, 10_000))
def test_the_bad_segment_pattern_finds_what_the_plain_one_finds(data: bytes, a: int, b: int) -> None:
    """The reader's bad-segment pattern (possessive quantifiers) and its search loop find the
    matches the plain pattern's finditer finds, over any range."""
    from cartcode.formats.x12._tokenizer import Delimiters

    d = Delimiters(data[3:4], data[104:105], None, data[105:106])
    fast, plain = x12._patterns(d).bad_segment, _reference_bad_segment(d)
    lo, hi = sorted((a % (len(data) + 1), b % (len(data) + 1)))
    for start, end in ((0, len(data)), (lo, hi)):
        found = []
        m = fast.search(data, start, end)
        while m is not None:
            found.append(m.span())
            m = fast.search(data, m.end(), end)
        assert found == [m.span() for m in plain.finditer(data, start, end)]


def test_broken_identifiers_are_found() -> None:
    """The strategy above is not vacuous: its files carry bad-identifier notes on full claims."""
    found = 0

    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(broken_identifiers())
    def collect(data: bytes) -> None:
        nonlocal found
        for item in x12.read(data, "m"):
            if isinstance(item, Claim) and item.lines:
                found += sum(1 for n in item.input_notes if n.rule == "X12-SEGMENT")

    collect()
    assert found > 20, found
