"""The X12 fast path of batch (and of `check` on big files).

It drives the X12 reader's own scanner (:mod:`cartcode.formats.x12._reader`) with the CAR-T pre-filter,
so every claim, error and envelope note comes out exactly as `check` reads it:

* a claim the pre-filter clears comes out as a minimal claim (:func:`is_cleared`); batch accounts
  for it as checked with no findings without running the rules, unless the reader attached
  envelope notes to it;
* a big plain file can be cut at interchange (ISA) boundaries into ranges that separate
  processes read; each range starts with the segment and line counters the file position has,
  so locations are the same as in one sequential read, and claim indexes are re-based when the
  ranges' outputs are merged.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NamedTuple

from cartcode.formats.x12 import _reader as x12
from cartcode.formats.x12._tokenizer import X12SyntaxError, parse_isa
from cartcode.model import Claim, ClaimError

Item = Claim | ClaimError


def _read_upto(stream: BinaryIO, size: int) -> tuple[bytes, BaseException | None]:
    """Up to `size` bytes, and the read error that stopped it early (if any), so the bytes read
    before damage are still checked."""
    pieces: list[bytes] = []
    got = 0
    # small pieces: a damaged gzip loses less before the error; a plain file is read in one go
    step = size if type(stream) is io.BufferedReader else 8192
    try:
        while got < size:
            piece = stream.read(min(step, size - got))
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
    except (OSError, EOFError) as exc:
        return b"".join(pieces), exc
    return b"".join(pieces), None


def is_cleared(item: Item) -> bool:
    """A claim the reader's pre-filter cleared and that carries no envelope notes: checked, no
    findings (the X12 reader builds it with only id, kind, format and source: no `loc`, which
    every claim it reads in full has)."""
    return type(item) is Claim and item.loc is None and item.format == "x12" and not item.input_notes


def read(data: bytes, file: str, prefilter: re.Pattern[bytes]) -> Iterator[Item]:
    """:func:`cartcode.formats.x12._reader.read` with the pre-filter."""
    return x12.read(data, file, prefilter=prefilter)


SUPPORTS_SKIPPED = "skipped" in getattr(x12._Scanner, "__dataclass_fields__", {})


SUPPORTS_SKIPPED_MANY = "skipped_many" in getattr(x12._Scanner, "__dataclass_fields__", {})


def _scanner(
    file: str, prefilter: re.Pattern[bytes], skipped: Callable[[int, str], None] | None,
    skipped_many: Callable[[int, list[str]], None] | None = None,
) -> Any:
    """The reader's scanner; with `skipped`, cleared claims are reported through it (index, id)
    instead of being yielded as minimal claims (no object per claim at all); with `skipped_many`
    too, a run of cleared claims is reported in one call (index of the first, their ids)."""
    if skipped is not None and SUPPORTS_SKIPPED:
        scanner = x12._Scanner(file, prefilter, skipped)
        if skipped_many is not None and SUPPORTS_SKIPPED_MANY:
            scanner.skipped_many = skipped_many
        return scanner
    return x12._Scanner(file, prefilter)


class Range(NamedTuple):
    """A byte range of a plain X12 file that starts at an ISA (or the file start) and the counters
    a sequential read has there. (A NamedTuple: it goes to worker processes by pickle, which a
    compiled frozen dataclass does not survive.)"""

    start: int
    end: int
    segment: int  # ordinal of the first segment of the range
    line: int  # line of the range's first byte


def read_stream(
    stream: BinaryIO,
    file: str,
    prefilter: re.Pattern[bytes],
    *,
    rng: Range | None = None,
    block_size: int = 1 << 20,  # small blocks: each is copied a few times (tail + block, cut)
    skipped: Callable[[int, str], None] | None = None,
    skipped_many: Callable[[int, list[str]], None] | None = None,
) -> Iterator[Item]:
    """:func:`cartcode.formats.x12._reader.read_stream`, optionally over one range of the file (the stream
    is positioned by the caller at ``rng.start``): the same scanner, started with the segment and
    line counters of the range's first byte.

    Claim indexes restart at 0 in each range; the batch merge adds the claims of the ranges
    before it."""
    scanner = _scanner(file, prefilter, skipped, skipped_many)
    base = 0
    remaining = -1
    if rng is not None:
        base = rng.start
        remaining = rng.end - rng.start
        scanner.cur_seg = rng.segment
        scanner.cur_line = rng.line
    first = rng is None or rng.start == 0
    reader = _RangeReader(stream, remaining)
    yield from x12._scan_blocks(scanner, reader.read, block_size, base, first)
    if reader.broken is not None:  # a damaged file (truncated gzip): its readable claims came out first
        raise reader.broken


class _RangeReader:
    """Blocks of a stream up to `remaining` bytes (all of it if negative); a read error ends the
    blocks (empty from then on) and is kept in `broken`, so the bytes read before it are still checked."""

    def __init__(self, stream: BinaryIO, remaining: int) -> None:
        self.stream = stream
        self.remaining = remaining
        self.broken: BaseException | None = None

    def read(self, step: int) -> bytes:
        want = step if self.remaining < 0 else min(step, self.remaining)
        if want <= 0 or self.broken is not None:
            return b""
        block, self.broken = _read_upto(self.stream, want)
        if self.remaining >= 0:
            self.remaining -= len(block)
        return block


def _starts(buf: bytes, tag: bytes, term: bytes, lo: int, hi: int) -> Iterator[int]:
    """Offsets in [lo, hi) where a segment `tag` starts (after the terminator and line breaks)."""
    p = buf.find(tag, lo, hi)
    while p >= 0:
        q = p
        while q > 0 and buf[q - 1 : q] in (b"\n", b"\r", b" ", b"\t"):
            q -= 1
        if q > 0 and buf[q - 1 : q] == term:
            yield p
        p = buf.find(tag, p + 1, hi)


def plan_ranges(stream: BinaryIO, size: int, parts: int, block_size: int = 16 << 20) -> list[Range]:
    """Cut a plain X12 file into about `parts` ranges at ISA boundaries, streaming it once.

    Returns one range (the whole file) when the file has one interchange, or when the
    interchanges do not all end their segments with the first ISA's terminator (the segment
    counts of the later ranges would be wrong): the ranges must give exactly the sequential
    result, and the sequential read is always right."""
    whole = [Range(0, size, 1, 1)]
    if parts <= 1:
        return whole
    head = stream.read(4096)
    isa_at = head.find(b"ISA")
    if isa_at < 0 or head[:isa_at].strip(b"\xef\xbb\xbf \t\r\n"):
        return whole
    try:
        term = parse_isa(head, isa_at).delimiters.segment
    except X12SyntaxError:
        return whole
    stream.seek(0)
    target = max(1, size // parts)
    next_cut = target
    cuts: list[tuple[int, int, int]] = []  # (offset, segments before it, newlines before it)
    isa_count = 1
    iea_count = 0
    buf = b""
    buf_abs = 0  # file offset of buf[0]
    segs = lines = 0  # counted over buf_abs's past
    keep = 256
    while True:
        block = stream.read(block_size)
        final = not block
        buf += block
        horizon = len(buf) if final else max(0, len(buf) - keep)
        counted = 0
        for p in _starts(buf, b"ISA", term, 0, horizon):
            isa_count += 1
            try:
                if parse_isa(buf, p).delimiters.segment != term:
                    return whole
            except X12SyntaxError:
                return whole
            if buf_abs + p >= next_cut:
                segs += buf.count(term, counted, p)
                lines += buf.count(b"\n", counted, p)
                counted = p
                cuts.append((buf_abs + p, segs, lines))
                next_cut = buf_abs + p + target
        iea_count += sum(1 for _ in _starts(buf, b"IEA", term, 0, horizon))
        segs += buf.count(term, counted, horizon)
        lines += buf.count(b"\n", counted, horizon)
        if final:
            break
        buf = buf[horizon:]
        buf_abs += horizon
    if not cuts or iea_count != isa_count:
        return whole
    ranges: list[Range] = []
    prev = (0, 0, 0)
    for cut in cuts:
        ranges.append(Range(prev[0], cut[0], prev[1] + 1, prev[2] + 1))
        prev = cut
    ranges.append(Range(prev[0], size, prev[1] + 1, prev[2] + 1))
    return ranges
