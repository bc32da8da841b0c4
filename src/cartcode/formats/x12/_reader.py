"""X12 837I / 837P (5010) reader: bytes in, one :class:`Claim` or :class:`ClaimError` per CLM out.

Design, for speed and constant memory:

* one bytes regex walks the file and stops only at CLM and envelope segments (ISA, GS, ST, SE,
  GE, IEA); everything between is not looked at unless a claim needs it;
* a claim's bytes run from its CLM to the next HL, CLM or SE. With a ``prefilter`` (a bytes regex
  such as CAR-T codes), a claim whose bytes do not match is yielded as a minimal Claim (id, kind,
  source) without tokenizing anything; the subscriber context (HL, SBR) is looked up backwards
  only for claims that are read in full;
* segment numbers and line numbers are counted lazily with ``bytes.count`` between the places
  that need them;
* :func:`read_stream` feeds the same scanner with blocks cut at HL 20/22 boundaries, so a file of
  any size is read in constant memory.

Problems are data: an unreadable envelope is a ClaimError for what it holds; a broken claim is a
ClaimError for that claim alone; envelope deviations (GS08 versus ST03, SE/GE/IEA counts,
non-fixed-width ISA, bad segment identifiers) are :class:`InputNote` on the nearest claim.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final, Literal

from cartcode.findings import Fix
from cartcode.formats._gzip import open_input
from cartcode.formats._limits import current
from cartcode.formats.x12._claim import ClaimReadError, Context, Segment, build_claim, where
from cartcode.formats.x12._prefilter import match_starts, professional_pattern
from cartcode.formats.x12._tokenizer import (
    Delimiters,
    Isa,
    X12SyntaxError,
    parse_isa,
    segment_start_pattern,
    skip_whitespace,
)
from cartcode.model import Claim, ClaimError, ClaimKind, ClaimSource, InputNote, Location

__all__ = ["apply_fixes", "iter_files", "kind_of_version", "read", "read_stream"]


def minimal_claim(claim_id: str, kind: ClaimKind, file: str, index: int) -> Claim:
    """A claim the pre-filter cleared: only id, kind, format and source (no `loc`: see Claim)."""
    return Claim(id=claim_id, kind=kind, format="x12", source=ClaimSource(file=file, index=index))

Item = Claim | ClaimError
Skipped = Callable[[int, str], None]
SkippedMany = Callable[[int, list[str]], None]  # (index of the first, their ids): a run in one call
_Skip = tuple[int, str, ClaimKind]  # a prefiltered-out claim reported through `skipped`
Severity = Literal["error", "warning", "info"]
BLOCK_SIZE: Final = 8 << 20

INSTITUTIONAL_VERSIONS: Final = ("005010X223A1", "005010X223A2", "005010X223A3")
PROFESSIONAL_VERSIONS: Final = ("005010X222A1", "005010X222A2")


def kind_of_version(version: str) -> ClaimKind | None:
    if version.startswith("005010X223"):
        return "institutional"
    if version.startswith("005010X222"):
        return "professional"
    return None


@dataclass(slots=True)
class _Patterns:
    clm: re.Pattern[bytes]  # CLM<element>CLM01: a literal prefix, which re scans for fast
    hl: re.Pattern[bytes]
    bad_segment: re.Pattern[bytes]


def _patterns(d: Delimiters) -> _Patterns:
    t, e = re.escape(d.segment), re.escape(d.element)
    not_te = b"[^" + t + e + b"]"
    clm = re.compile(b"CLM" + e + b"(" + not_te + b"*)")
    # A segment start whose identifier is not 2-3 upper-case letters/digits (empty segment,
    # lower case, 4 characters...). Only evaluated where a claim is read in full. The quantifiers
    # are possessive: backtracking into the whitespace or the identifier can never turn a good
    # segment into a match (a shorter run of whitespace is followed by whitespace; a shorter
    # identifier by a letter or digit, never a delimiter), and not trying it halves the cost.
    bad = re.compile(t + rb"[ \t\r\n]*+(?![A-Z][A-Z0-9]{1,2}+(?:" + e + b"|" + t + rb"))(?=[^ \t\r\n])")
    return _Patterns(clm, segment_start_pattern(d, "HL"), bad)


def count_two(buf: bytes, start: int, end: int, a: bytes, b: bytes) -> tuple[int, int]:
    """(buf.count(a, start, end), buf.count(b, start, end))."""
    return buf.count(a, start, end), buf.count(b, start, end)

_WALKED_TAGS: Final = frozenset(("GS", "GE", "IEA", "ISA", "ST", "SE"))


def _at_segment_start(buf: bytes, p: int, term: bytes) -> bool:
    if p == 0:
        return True
    prev = buf[p - 1 : p]
    if prev == term:
        return True
    while prev in (b"\n", b"\r", b" ", b"\t") and p > 1:
        p -= 1
        prev = buf[p - 1 : p]
    return prev == term or (p <= 1 and prev in (b"\n", b"\r", b" ", b"\t"))


def _find_segment(buf: bytes, marker: bytes, pos: int, term: bytes) -> int:
    """Offset of the next segment starting with `marker` at or after `pos`, or len(buf)."""
    p = buf.find(marker, pos)
    while p >= 0 and not _at_segment_start(buf, p, term):
        p = buf.find(marker, p + 1)
    return len(buf) if p < 0 else p


_SE_ST: Final[dict[bytes, re.Pattern[bytes]]] = {}


def _find_se_st(buf: bytes, pos: int, d: Delimiters) -> tuple[int, int]:
    """``(_find_segment(buf, SE, pos, term), _find_segment(buf, ST, pos, term))`` in one scan
    (most blocks hold neither, and each `find` would read the whole block)."""
    term, el = d.segment, d.element
    if el in b"SET":  # the two markers could overlap: one by one
        return _find_segment(buf, b"SE" + el, pos, term), _find_segment(buf, b"ST" + el, pos, term)
    pat = _SE_ST.get(el)
    if pat is None:
        pat = _SE_ST[el] = re.compile(b"S[ET]" + re.escape(el))
    n = len(buf)
    se = st = n
    for m in pat.finditer(buf, pos):
        p = m.start()
        if not _at_segment_start(buf, p, term):
            continue
        if buf[p + 1] == 69:  # "E"
            if se == n:
                se = p
        elif st == n:
            st = p
        if se < n and st < n:
            break
    return se, st


def _walk_envelope(buf: bytes, pos: int, d: Delimiters) -> Iterator[tuple[str, int, bytes | None]]:
    """Envelope segments that follow one another from `pos` (after an SE: GE, IEA, ISA, GS, ST)."""
    n = len(buf)
    term, el = d.segment, d.element
    while True:
        p = skip_whitespace(buf, pos)
        if p >= n:
            return
        tag_end = p
        while tag_end < n and tag_end - p < 4 and buf[tag_end : tag_end + 1] not in (el, term):
            tag_end += 1
        tag = buf[p:tag_end].decode("latin-1")
        if tag not in _WALKED_TAGS or (tag == "ISA" and buf[p + 3 : p + 4].isalnum()):
            return
        yield tag, p, None
        end = buf.find(term, p)
        if end < 0:
            return
        pos = end + 1


@dataclass(slots=True)
class _Cursor:
    """Shared between :func:`_marks` and its consumer: where the next envelope segment is, and
    where to resume the CLM scan when the consumer has skipped a run of claims in bulk."""

    next_env: int = 0
    jump: int = -1


def _marks(
    buf: bytes, pos: int, d: Delimiters, pats: _Patterns, cur: _Cursor | None = None
) -> Iterator[tuple[str, int, bytes | None]]:
    """(tag, offset, CLM01) for every CLM and envelope segment from `pos` (a terminator), in order.

    CLM is found by a regex with a literal prefix (re scans for it fast), ST and SE with
    `bytes.find`; the other envelope segments (GE, IEA, ISA, GS) are read one by one where
    they must be: right after an SE, or at the start of an interchange. The consumer stops
    iterating on ISA and IEA (new delimiters) and starts a new walk."""
    term = d.segment
    n = len(buf)
    st_marker = b"ST" + d.element
    last = -1
    for item in _walk_envelope(buf, pos + 1, d):
        last = item[1]
        yield item
    start = max(pos, 0) if last < 0 else buf.find(term, last)
    next_se, next_st = _find_se_st(buf, start, d)
    if cur is None:
        cur = _Cursor()
    cur.next_env = min(next_se, next_st)

    def boundaries(before: int) -> Iterator[tuple[str, int, bytes | None]]:
        nonlocal next_se, next_st
        while next_se < before or next_st < before:
            if next_st < next_se:
                yield "ST", next_st, None
                next_st = _find_segment(buf, st_marker, next_st + 3, term)
                continue
            yield "SE", next_se, None
            after = buf.find(term, next_se)
            resume = n if after < 0 else after + 1
            for item in _walk_envelope(buf, resume, d):
                if item[0] == "SE":
                    break
                resume = buf.find(term, item[1]) + 1 or n
                yield item
            next_se, next_st = _find_se_st(buf, resume, d)
        cur.next_env = min(next_se, next_st)

    found = pats.clm.finditer(buf, start)
    while (m := next(found, None)) is not None:
        c = m.start()
        if next_se < c or next_st < c:
            yield from boundaries(c)
        if buf[c - 1 : c] == term or _at_segment_start(buf, c, term):
            yield "CLM", c, m.group(1)
            if cur.jump >= 0:  # the consumer skipped a run of claims: resume the scan after it
                found = pats.clm.finditer(buf, cur.jump)
                cur.jump = -1
    yield from boundaries(n)


@dataclass(slots=True)
class _Transaction:
    pos: int  # offset of ST in the current buffer (may be negative once the buffer moved on)
    ordinal: int
    line: int
    control: str
    version: str
    kind: ClaimKind | None
    problem: str | None  # set when the transaction cannot be read (not 837, unknown version)
    claims: int = 0
    lost: int = 0  # CLM segments in an unreadable transaction


@dataclass(slots=True)
class _Lost:
    """A stretch with no readable interchange: what was wrong, where, and the CLMs in it so far."""

    problem: str
    loc: Location
    clms: int
    delims: Delimiters


@dataclass(slots=True)
class _Scanner:
    file: str
    prefilter: re.Pattern[bytes] | None
    skipped: Skipped | None = None
    index: int = 0
    # optional bulk form of `skipped` for a run of cleared claims (same order, same indexes)
    skipped_many: SkippedMany | None = None
    # interchange state
    delims: Delimiters | None = None
    last_delims: Delimiters | None = None  # those of the last interchange, kept after its IEA
    pats: _Patterns | None = None
    isa_control: str = ""
    isa_loc: Location | None = None
    groups: int = 0
    gs_control: str = ""
    gs_version: str = ""
    gs_loc: Location | None = None
    transactions_in_group: int = 0
    st: _Transaction | None = None
    dead: bool = False
    # lazily advanced counters: (buffer offset, segment ordinal of the segment starting there, line)
    cur_pos: int = 0
    cur_seg: int = 1
    cur_line: int = 1
    base: int = 0  # file offset of buffer[0]
    # a claim whose end is not known yet: (tag offset, CLM01 bytes)
    pending: tuple[int, bytes] | None = None
    # the last item, held back so that trailing envelope problems (SE/GE/IEA) can be attached
    held: Item | _Skip | None = None
    held_in_transaction: bool = False
    pending_notes: list[InputNote] = field(default_factory=list)
    ctx_cache: tuple[int, str | None, Location | None] | None = None
    isa_end: int = 0  # buffer offset just past the current ISA
    hits: list[int] | None = None  # offsets of the prefilter's matches in the buffer (computed once)
    hits_of: re.Pattern[bytes] | None = None  # the pattern `hits` came from (see buffer_hits)
    professional: re.Pattern[bytes] | None = None  # professional_pattern(prefilter), looked up once
    hit_i: int = 0
    clm_form: bytes | None = None  # what precedes "CLM*" after the terminator in this file
    scanned_upto: int = 0  # buffer offset up to which segment identifiers were checked (or skipped)
    lost: _Lost | None = None  # a damaged stretch (no readable ISA) being skipped to the next good ISA
    max_segment: int = 0  # the longest segment a claim may hold (0: the limit in force, see _limits)

    def has_delims(self) -> bool:
        return self.delims is not None

    # -- counters ----------------------------------------------------------------------------
    def advance(self, buf: bytes, pos: int) -> tuple[int, int]:
        """Segment ordinal and line of the segment starting at buffer offset `pos`."""
        if pos < self.cur_pos:  # backwards (context lookup): count the difference
            segs, lines = count_two(buf, pos, self.cur_pos, self.delims.segment if self.delims else b"~", b"\n")
            return self.cur_seg - segs, self.cur_line - lines
        segs, lines = count_two(buf, self.cur_pos, pos, self.delims.segment if self.delims else b"~", b"\n")
        if self.delims is not None:
            self.cur_seg += segs
        self.cur_line += lines
        self.cur_pos = pos
        return self.cur_seg, self.cur_line

    def loc(
        self, buf: bytes, pos: int, segment_id: str, element: str | None = None, loop: str | None = None
    ) -> Location:
        seg, line = self.advance(buf, pos)
        return Location(
            file=self.file, segment=seg, line=line, loop=loop, segment_id=segment_id, element=element,
            offset=self.base + pos,
        )

    def note(self, rule: str, message: str, loc: Location | None, severity: Severity = "warning") -> InputNote:
        return InputNote(rule=rule, severity=severity, message=message, loc=loc)

    # -- emitting ----------------------------------------------------------------------------
    def release(self, held: Item | _Skip) -> Iterator[Item]:
        if isinstance(held, tuple):
            assert self.skipped is not None
            self.skipped(held[0], held[1])
        else:
            yield held

    def emit(self, item: Item | _Skip | None) -> Iterator[Item]:
        if item is None:
            return
        if self.held is not None:
            yield from self.release(self.held)
        self.held = item
        self.held_in_transaction = True
        self.index += 1

    def attach_trailing(self, notes: list[InputNote]) -> Iterator[Item]:
        """Envelope notes found after the claims they concern (SE, GE, IEA)."""
        if not notes:
            return
        held = self.held
        if isinstance(held, tuple) and self.held_in_transaction:
            # a skipped claim that now has something to report becomes a minimal claim
            held = self.held = minimal_claim(held[1], held[2], self.file, held[0])
        if isinstance(held, Claim) and self.held_in_transaction:
            held.input_notes.extend(notes)
        elif isinstance(held, ClaimError) and self.held_in_transaction:
            held.error += "; " + "; ".join(n.message for n in notes)
        else:
            # nothing to attach to: the envelope problem is reported as a failed entry of its own
            first = notes[0]
            yield from self.emit(
                ClaimError(
                    id=None,
                    source=ClaimSource(file=self.file, index=self.index),
                    error="; ".join(n.message for n in notes),
                    location=first.loc,
                )
            )

    def error_entry(self, message: str, loc: Location | None) -> ClaimError:
        return ClaimError(
            id=None,
            source=ClaimSource(file=self.file, index=self.index),
            error=message,
            location=loc,
        )

    # -- the scan ----------------------------------------------------------------------------
    def feed(self, buf: bytes, base: int, final: bool) -> Iterator[Item]:
        """Read `buf` (file offset `base`), which ends at a segment start or at the end of input."""
        self.base = base
        self.cur_pos = 0
        self.ctx_cache = None
        if self.st is not None:
            self.st.pos = 0  # the transaction began in an earlier block
        self.scanned_upto = 0
        self.hits = None
        self.hits_of = None
        self.hit_i = 0
        n = len(buf)
        # a block that continues an interchange starts at a segment: a virtual terminator at -1
        # lets the envelope walk see a segment (an ISA) right at offset 0
        pos = 0 if self.delims is None else -1
        while not self.dead:
            if self.delims is None:
                pos = skip_whitespace(buf, pos)
                if pos >= n:
                    break
                yield from self.open_interchange(buf, pos)
                if not self.has_delims():  # (a call: mypyc would keep the narrowing to None above)
                    break
                pos = self.isa_end - 1  # at the ISA's terminator
            pats = self.pats
            assert pats is not None and self.delims is not None
            restart = False
            cursor = _Cursor()
            bulk = self.skipped is not None and isinstance(self.prefilter, re.Pattern)
            for tag, start, clm_id in _marks(buf, pos, self.delims, pats, cursor):
                if clm_id is not None:  # CLM: the hot path, kept free of nested generators
                    if self.pending is not None:
                        item = self.finish_claim(buf, start)
                        if item is not None:
                            held = self.held
                            if held is not None:
                                if isinstance(held, tuple):
                                    assert self.skipped is not None
                                    self.skipped(held[0], held[1])
                                else:
                                    yield held
                            self.held = item
                            self.held_in_transaction = True
                            self.index += 1
                    st = self.st
                    if st is None:
                        self.pending_notes.append(
                            self.note(
                                "X12-ENVELOPE",
                                "CLM outside an ST..SE transaction",
                                self.loc(buf, start, "CLM"),
                                "error",
                            )
                        )
                        st = self.st = _Transaction(start, 0, 0, "", "", None, "CLM outside an ST..SE transaction")
                    self.pending = (start, clm_id)
                    if bulk and not self.pending_notes and st.problem is None:
                        if self.held is not None and not isinstance(self.held, tuple):
                            yield self.held  # it goes out before the run it precedes
                            self.held = None
                        self.skip_run(buf, start, cursor)
                    continue
                if self.pending is not None:
                    yield from self.emit(self.finish_claim(buf, start))
                if tag == "ST":
                    yield from self.open_transaction(buf, start)
                elif tag == "SE":
                    yield from self.close_transaction(buf, start)
                elif tag == "GS":
                    yield from self.open_group(buf, start)
                elif tag == "GE":
                    yield from self.close_group(buf, start)
                elif tag == "IEA":
                    yield from self.close_interchange(buf, start)
                    end = buf.find(self.delims.segment, start) if self.delims else -1
                    self.delims = None
                    pos = n if end < 0 else end + 1
                    restart = True
                    break
                else:  # ISA inside an interchange: the IEA is missing
                    loc = self.loc(buf, start, "ISA")
                    yield from self.close_interchange(buf, start, missing=loc)
                    self.delims = None
                    pos = start
                    restart = True
                    break
            if not restart:
                if self.pending is not None:
                    yield from self.emit(self.finish_claim(buf, n))
                if self.scanned_upto < n and self.st is not None:
                    # a block with no claim of its own (read_stream): its loops are still checked
                    self.scan_bad_segments(buf, self.scanned_upto, n, self.pending_notes)
                    self.scanned_upto = n
                break
        self.advance(buf, n)
        if final:
            yield from self.finish_input(buf, n)

    def open_interchange(self, buf: bytes, pos: int) -> Iterator[Item]:
        """Open the interchange whose ISA starts at `pos`. Where there is no readable ISA (a damaged
        ISA, a duplicated IEA, junk between interchanges) reading resumes at the next good ISA:
        the damaged stretch is one failed entry that says exactly how many CLM segments it held
        (or, holding none, an envelope error on the claim before it)."""
        n = len(buf)
        while True:
            if self.lost is None:
                problem = ""
                isa: Isa | None = None
                tag = buf[pos : pos + 3].decode("latin-1")
                if tag != "ISA":
                    problem = "expected an ISA segment"
                else:
                    try:
                        isa = parse_isa(buf, pos)
                    except X12SyntaxError as exc:
                        problem = f"bad ISA ({exc})"
                if isa is not None:
                    self.start_interchange(buf, pos, isa)
                    return
                d = self.guess_delimiters(buf, pos)
                self.skip_counters(buf, pos, d.segment)
                loc = Location(
                    file=self.file, segment=self.cur_seg, line=self.cur_line, segment_id=tag,
                    offset=self.base + pos,
                )
                self.lost = _Lost(f"{problem} at {where(loc)}", loc, 0, d)
                search = pos + 1
            else:
                search = pos
            lost = self.lost
            assert lost is not None
            nxt = self.next_good_isa(buf, search, lost.delims)
            lost.clms += self.count_clm(buf, pos, nxt, lost.delims)
            self.skip_counters(buf, nxt, lost.delims.segment)
            if nxt >= n:
                return  # the next good ISA, if any, is in a later block (or the input ends)
            yield from self.report_lost()
            pos = nxt

    def start_interchange(self, buf: bytes, pos: int, isa: Isa) -> None:
        self.delims = self.last_delims = isa.delimiters
        self.pats = _patterns(isa.delimiters)
        self.isa_end = isa.end
        self.isa_control = isa.elements[13]
        self.isa_loc = self.loc(buf, pos, "ISA")
        self.groups = 0
        for warning in isa.warnings:
            self.pending_notes.append(
                self.note("X12-ENVELOPE", f"{warning} (ISA at {where(self.isa_loc)})", self.isa_loc, "error")
            )

    def report_lost(self) -> Iterator[Item]:
        """The damaged stretch that ended (at a good ISA or the end of input)."""
        lost = self.lost
        if lost is None:
            return
        self.lost = None
        if lost.clms:
            yield from self.emit(self.error_entry(f"{lost.problem}; {lost.clms} CLM segment(s) after it not read "
                                                  "(reading resumes at the next good ISA)", lost.loc))
            self.held_in_transaction = False
        else:
            yield from self.attach_trailing([self.note("X12-ENVELOPE", f"{lost.problem}; skipped up to the next "
                                                       "good ISA", lost.loc, "error")])

    def guess_delimiters(self, buf: bytes, pos: int) -> Delimiters:
        """Delimiters to count a damaged stretch by: the last interchange's, else the damaged ISA's
        element separator and terminator where they look like delimiters, else * and ~."""
        if self.last_delims is not None:
            return self.last_delims
        el = buf[pos + 3 : pos + 4]
        term = buf[pos + 105 : pos + 106]
        ok_el = buf[pos : pos + 3] == b"ISA" and len(el) == 1 and not el.isalnum() and el not in b" \r\n"
        ok_term = len(term) == 1 and not term.isalnum() and term not in b" " and term != el
        return Delimiters(el if ok_el else b"*", b":", None, term if ok_term and ok_el else b"~")

    def skip_counters(self, buf: bytes, pos: int, term: bytes) -> None:
        """Advance the segment and line counters to `pos` without an interchange's delimiters."""
        if pos > self.cur_pos:
            segs, lines = count_two(buf, self.cur_pos, pos, term, b"\n")
            self.cur_seg += segs
            self.cur_line += lines
            self.cur_pos = pos

    def next_good_isa(self, buf: bytes, pos: int, d: Delimiters) -> int:
        """Offset of the next ISA at or after `pos` that starts a segment and parses, else len(buf)."""
        p = buf.find(b"ISA", pos)
        while p >= 0:
            q = p
            while q > 0 and buf[q - 1] in b" \t\r\n":
                q -= 1
            prev = buf[q - 1 : q]
            if not buf[p + 3 : p + 4].isalnum():
                try:
                    isa: Isa | None = parse_isa(buf, p)
                except X12SyntaxError:
                    isa = None
                if isa is not None and (q == 0 or prev in (isa.delimiters.segment, d.segment)):
                    return p
            p = buf.find(b"ISA", p + 1)
        return len(buf)

    def count_clm(self, buf: bytes, pos: int, end: int = -1, d: Delimiters | None = None) -> int:
        """CLM segments in ``buf[pos:end]`` (by the delimiters `d`, else the last known ones): the
        claims an unreadable envelope takes with it, so that every claim is still accounted for."""
        if d is None:
            d = self.last_delims or Delimiters(b"*", b":", None, b"~")
        stop = len(buf) if end < 0 else end
        marker = b"CLM" + d.element
        count = 0
        p = buf.find(marker, pos, stop)
        while p >= 0:
            if _at_segment_start(buf, p, d.segment):
                count += 1
            p = buf.find(marker, p + 1, stop)
        return count

    def segment_elements(self, buf: bytes, start: int) -> list[str]:
        assert self.delims is not None
        end = buf.find(self.delims.segment, start)
        raw = buf[start:] if end < 0 else buf[start:end]
        return raw.decode("latin-1").split(self.delims.element_s)

    def open_group(self, buf: bytes, start: int) -> Iterator[Item]:
        els = self.segment_elements(buf, start)
        self.groups += 1
        self.gs_control = els[6] if len(els) > 6 else ""
        self.gs_version = els[8] if len(els) > 8 else ""
        self.gs_loc = self.loc(buf, start, "GS", "GS08")
        self.transactions_in_group = 0
        return iter(())

    def open_transaction(self, buf: bytes, start: int) -> Iterator[Item]:
        if self.st is not None:
            yield from self.close_transaction(buf, start, missing=True)
        els = self.segment_elements(buf, start)
        self.transactions_in_group += 1
        seg, line = self.advance(buf, start)
        version = els[3] if len(els) > 3 and els[3] else self.gs_version
        problem: str | None = None
        loc = self.loc(buf, start, "ST", "ST03")
        if (els[1] if len(els) > 1 else "") != "837":
            problem = f"transaction set {els[1] if len(els) > 1 else ''!r} at {where(loc)} is not an 837"
        kind = kind_of_version(version)
        if kind is None and problem is None:
            problem = f"ST03/GS08 version {version!r} at {where(loc)} is not 837I (005010X223) or 837P (005010X222)"
        if kind is not None and self.gs_version and kind_of_version(self.gs_version) != kind:
            self.pending_notes.append(
                self.note(
                    "X12-ENVELOPE",
                    f"GS08 says {self.gs_version} but ST03 says {version}: read as "
                    f"{'837I' if kind == 'institutional' else '837P'} by ST03 ({where(loc)})",
                    loc,
                )
            )
        elif version not in INSTITUTIONAL_VERSIONS + PROFESSIONAL_VERSIONS and kind is not None:
            self.pending_notes.append(
                self.note("X12-ENVELOPE", f"unusual 837 version {version!r} ({where(loc)})", loc, "info")
            )
        self.st = _Transaction(start, seg, line, els[2] if len(els) > 2 else "", version, kind, problem)
        self.held_in_transaction = False
        # The transaction header (ST..first HL) is always checked for broken segment identifiers.
        assert self.pats is not None
        hl = self.pats.hl.search(buf, start)
        yield from ()
        self.scanned_upto = hl.start(1) if hl else len(buf)
        self.scan_bad_segments(buf, start, self.scanned_upto, self.pending_notes)

    def close_transaction(self, buf: bytes, start: int, missing: bool = False) -> Iterator[Item]:
        st = self.st
        if st is None:
            loc = self.loc(buf, start, "SE")
            yield from self.attach_trailing([self.note("X12-ENVELOPE", f"SE without ST at {where(loc)}", loc, "error")])
            return
        self.st = None
        # what is still pending (a header with no claim after it, broken segments after the last
        # claim) belongs to this transaction: it goes with its last claim, not the next one
        notes: list[InputNote] = self.pending_notes
        self.pending_notes = []
        if self.scanned_upto < start:
            self.scan_bad_segments(buf, self.scanned_upto, start, notes)
            self.scanned_upto = start
        if missing:
            loc = self.loc(buf, start, "ST")
            notes.append(
                self.note("X12-ENVELOPE", f"transaction {st.control} has no SE before {where(loc)}", loc, "error")
            )
        else:
            els = self.segment_elements(buf, start)
            seg, _ = self.advance(buf, start)
            actual = seg - st.ordinal + 1
            loc = self.loc(buf, start, "SE", "SE01")
            declared = els[1] if len(els) > 1 else ""
            if declared != str(actual):
                notes.append(
                    self.note(
                        "X12-ENVELOPE",
                        f"SE01 says {declared or 'nothing'} segments, transaction {st.control} has {actual} "
                        f"({where(loc)})",
                        loc,
                    )
                )
            if (els[2] if len(els) > 2 else "") != st.control:
                loc2 = self.loc(buf, start, "SE", "SE02")
                notes.append(
                    self.note("X12-ENVELOPE", f"SE02 does not match ST02 {st.control!r} ({where(loc2)})", loc2)
                )
        if st.problem is not None:
            # the unreadable transaction is one failed entry that says how many claims it held
            yield from self.emit(
                self.error_entry(
                    f"{st.problem}; {st.lost} claim(s) in it not read",
                    Location(file=self.file, segment=st.ordinal, line=st.line, segment_id="ST"),
                )
            )
        yield from self.attach_trailing(notes)

    def close_group(self, buf: bytes, start: int) -> Iterator[Item]:
        els = self.segment_elements(buf, start)
        loc = self.loc(buf, start, "GE", "GE01")
        notes = []
        if (els[1] if len(els) > 1 else "") != str(self.transactions_in_group):
            notes.append(
                self.note(
                    "X12-ENVELOPE",
                    f"GE01 says {els[1] if len(els) > 1 else 'nothing'} transactions, the group has "
                    f"{self.transactions_in_group} ({where(loc)})",
                    loc,
                )
            )
        if (els[2] if len(els) > 2 else "") != self.gs_control:
            notes.append(self.note("X12-ENVELOPE", f"GE02 does not match GS06 {self.gs_control!r} ({where(loc)})", loc))
        yield from self.attach_trailing(notes)

    def close_interchange(self, buf: bytes, start: int, missing: Location | None = None) -> Iterator[Item]:
        if self.st is not None:
            yield from self.close_transaction(buf, start, missing=True)
        notes = []
        if missing is not None:
            notes.append(self.note("X12-ENVELOPE", f"interchange has no IEA before {where(missing)}", missing, "error"))
        else:
            els = self.segment_elements(buf, start)
            loc = self.loc(buf, start, "IEA", "IEA01")
            if (els[1] if len(els) > 1 else "") != str(self.groups):
                notes.append(
                    self.note(
                        "X12-ENVELOPE",
                        f"IEA01 says {els[1] if len(els) > 1 else 'nothing'} groups, "
                        f"the interchange has {self.groups} ({where(loc)})",
                        loc,
                    )
                )
            if (els[2] if len(els) > 2 else "") != self.isa_control:
                notes.append(
                    self.note("X12-ENVELOPE", f"IEA02 does not match ISA13 {self.isa_control!r} ({where(loc)})", loc)
                )
        yield from self.attach_trailing(notes)

    def finish_input(self, buf: bytes, n: int) -> Iterator[Item]:
        if self.lost is not None:
            yield from self.report_lost()
        if self.delims is not None and not self.dead:
            loc = Location(file=self.file, segment=self.cur_seg, line=self.cur_line, offset=self.base + n)
            if self.st is not None:
                yield from self.close_transaction(buf, n, missing=True)
            yield from self.attach_trailing([self.note("X12-ENVELOPE", "input ends without IEA", loc, "error")])
            self.delims = None
        if self.pending_notes:
            notes, self.pending_notes = self.pending_notes, []
            self.held_in_transaction = False
            yield from self.attach_trailing(notes)
        if self.held is not None:
            yield from self.release(self.held)
            self.held = None

    # -- claims ------------------------------------------------------------------------------
    def scan_bad_segments(self, buf: bytes, start: int, end: int, into: list[InputNote]) -> None:
        assert self.pats is not None
        # search() per match, not finditer(): the common case is no match at all, and one search
        # call costs less than making a scanner and iterating it
        bad = self.pats.bad_segment
        m = bad.search(buf, start, end)
        while m is not None:
            p = m.end()
            m = bad.search(buf, p, end)
            seg_end = buf.find(self.delims.segment if self.delims else b"~", p)
            text = buf[p : seg_end if seg_end >= 0 else p + 10][:10].decode("latin-1")
            tag = text.split(self.delims.element_s if self.delims else "*")[0]
            loc = self.loc(buf, p, tag)
            into.append(self.note("X12-SEGMENT", f"bad segment identifier {tag!r} at {where(loc)}", loc, "error"))

    def finish_claim(self, buf: bytes, end: int) -> Item | _Skip | None:
        """The pending claim, now that its end is known (None when its transaction is unreadable)."""
        assert self.pending is not None and self.pats is not None
        start, raw_id = self.pending
        self.pending = None
        st = self.st
        assert st is not None
        st.claims += 1
        if st.problem is not None:
            st.lost += 1
            return None
        kind = st.kind
        assert kind is not None
        prefilter = self.prefilter
        if prefilter is not None and not isinstance(prefilter, re.Pattern):
            # a duck-typed prefilter (anything with `search(buf, start, end)`), asked per claim
            if prefilter.search(buf, start, end) is None:
                self.scanned_upto = end
                return self.minimal(raw_id, kind)
        elif prefilter is not None:
            # the buffer's prefilter hits (one regex pass per buffer, in C) against this claim's span
            hits = self.buffer_hits(buf, prefilter, kind)
            i = self.hit_i
            while i < len(hits) and hits[i] < start:
                i += 1
            self.hit_i = i
            if i == len(hits) or hits[i] >= end:
                self.scanned_upto = end
                return self.minimal(raw_id, kind)
        hl = self.pats.hl.search(buf, start, end)
        if hl is not None:
            end = hl.start(1)  # the claim ends where the next subscriber/patient loop starts
            if prefilter is not None:
                if self.hits is not None:
                    # the buffer's hits again (hit_i is this claim's first): none before the HL,
                    # no CAR-T in the claim itself (a hit is only ever reported early, not missed)
                    clear = self.hits[self.hit_i] >= end
                else:  # a duck-typed prefilter
                    clear = prefilter.search(buf, start, end) is None
                if clear:
                    self.scanned_upto = end
                    return self.minimal(raw_id, kind)
        item = self.full_claim(buf, start, end, raw_id, kind, st)
        self.scanned_upto = end
        return item

    def buffer_hits(self, buf: bytes, prefilter: re.Pattern[bytes], kind: ClaimKind) -> list[int]:
        """The offsets of the pre-filter's matches in this buffer, for a claim of `kind`: one regex
        pass per buffer. A professional claim never matches the inpatient branch of the pattern
        (_prefilter.professional_pattern), so 837P transactions are scanned without it; should the
        kind change within a buffer, the hits are recomputed (`hit_i` starts over: claims only
        move forward, so the claim's own hits are found again)."""
        if kind == "institutional":
            pattern = prefilter
        else:
            # looked up once per scanner: hashing a compiled pattern hashes its whole program
            narrow = self.professional
            if narrow is None:
                narrow = self.professional = professional_pattern(prefilter)
            pattern = narrow
        hits = self.hits
        if hits is None or self.hits_of is not pattern:
            hits = self.hits = match_starts(pattern, buf)
            self.hits_of = pattern
            self.hit_i = 0
        return hits

    def skip_run(self, buf: bytes, c: int, cur: _Cursor) -> None:
        """With a regex prefilter and a `skipped` callback: the claims from `c` on that the
        prefilter clears are reported in one go (their CLM01s by one findall, in C) and the CLM
        scan resumes after them, so a batch of mostly non-CAR-T claims costs little per claim.

        The run ends before the claim whose bytes hold the next prefilter hit (read as usual) or
        at the next envelope segment. Falls back to claim-by-claim when in doubt."""
        assert self.prefilter is not None and self.skipped is not None and self.pats is not None
        assert self.delims is not None and self.st is not None and self.st.kind is not None
        d = self.delims
        hits = self.buffer_hits(buf, self.prefilter, self.st.kind)
        i = self.hit_i
        while i < len(hits) and hits[i] < c:
            i += 1
        self.hit_i = i
        hit = hits[i] if i < len(hits) else len(buf)
        marker = b"CLM" + d.element
        last: int | None = None
        if hit < cur.next_env:
            p = buf.rfind(marker, c, hit + 1)
            while p > c and not _at_segment_start(buf, p, d.segment):
                p = buf.rfind(marker, c, p)
            if p <= c:
                return  # this claim holds the hit: read as usual
            last, end = p, p
        else:
            end = cur.next_env
        ids = self.pats.clm.findall(buf, c, end)
        if len(ids) < 2:
            return  # nothing to gain
        # every CLM* of the run must start a segment: count "~CLM*" (or "~\nCLM*", "~\r\nCLM*",
        # whichever form this file uses; one pass), else go claim by claim
        term = d.segment
        forms: tuple[bytes, ...] = (b"", b"\n", b"\r\n")
        if self.clm_form is not None:
            forms = (self.clm_form, *(f for f in forms if f != self.clm_form))
        for form in forms:
            lead = term + form + marker
            if buf.count(lead, max(c - len(lead) + len(marker), 0), end) == len(ids):
                self.clm_form = form
                break
        else:
            return
        self.pending = None
        self.st.claims += len(ids)
        self.scanned_upto = end
        kind = self.st.kind
        skipped = self.skipped
        held = self.held
        if held is not None:
            assert isinstance(held, tuple)  # a held item was yielded by the caller first
            skipped(held[0], held[1])
        index = self.index
        skipped_many = self.skipped_many
        if skipped_many is not None:
            # one decode for the whole run: CLM01 never holds the element separator (see clm)
            names = d.element.join(ids).decode("latin-1").split(d.element_s)
            last_id = names.pop()
            if names:
                skipped_many(index, names)
                index += len(names)
        else:
            for raw in ids[:-1]:
                skipped(index, raw.decode("latin-1"))
                index += 1
            last_id = ids[-1].decode("latin-1")
        self.held = (index, last_id, kind)
        self.held_in_transaction = True
        self.index = index + 1
        if last is not None:
            m = self.pats.clm.match(buf, last)
            self.pending = (last, m.group(1) if m else b"")
            cur.jump = last + 4
        else:
            cur.jump = end

    def minimal(self, raw_id: bytes, kind: ClaimKind) -> Claim | _Skip:
        if self.skipped is not None and not self.pending_notes:
            return (self.index, raw_id.decode("latin-1"), kind)
        claim = minimal_claim(raw_id.decode("latin-1"), kind, self.file, self.index)
        if self.pending_notes:
            claim.input_notes.extend(self.pending_notes)
            self.pending_notes = []
        return claim

    def context(self, buf: bytes, clm: int) -> tuple[int, str | None, Location | None, list[InputNote]]:
        """The HL the claim hangs under and the SBR09 of its subscriber loop (2000B).

        Walks back over HL segments from the CLM: an HL 23 (patient) points at its parent HL 22
        (subscriber), whose first segment is the SBR that names the payer."""
        assert self.delims is not None
        d = self.delims
        notes: list[InputNote] = []
        marker = b"HL" + d.element
        lo = max(0, self.st.pos if self.st is not None else 0)
        hi = clm
        want_id: str | None = None
        first_hl = -1
        while True:
            p = buf.rfind(marker, lo, hi)
            if p < 0:
                break
            hi = p
            if not _at_segment_start(buf, p, d.segment):
                continue  # "HL*" inside data
            if first_hl < 0:
                first_hl = p
                if self.ctx_cache is not None and self.ctx_cache[0] == p:
                    return p, self.ctx_cache[1], self.ctx_cache[2], notes
            els = self.segment_elements(buf, p)
            hl_id = els[1] if len(els) > 1 else ""
            if want_id is not None and hl_id != want_id:
                continue
            level = els[3] if len(els) > 3 else ""
            if level == "23":
                want_id = els[2] if len(els) > 2 else ""
                continue
            if level != "22":
                break
            seg_end = buf.find(d.segment, p)
            q = skip_whitespace(buf, seg_end + 1)
            if buf[q : q + 4] == b"SBR" + d.element:
                sbr = self.segment_elements(buf, q)
                filing = sbr[9] if len(sbr) > 9 and sbr[9] else None
                loc = self.loc(buf, q, "SBR", "SBR09", "2000B")
                if filing is None:
                    notes.append(
                        self.note("X12-CLAIM", f"SBR09 (claim filing indicator) is empty at {where(loc)}", loc)
                    )
                self.ctx_cache = (first_hl, filing, loc)
                return first_hl, filing, loc, notes
            loc = self.loc(buf, p, "HL", None, "2000B")
            notes.append(self.note("X12-CLAIM", f"subscriber HL at {where(loc)} is not followed by SBR", loc))
            return first_hl, None, None, notes
        loc = self.loc(buf, clm, "CLM", None, "2300")
        notes.append(
            self.note("X12-CLAIM", f"no subscriber loop (HL 22 with SBR) found for the claim at {where(loc)}", loc)
        )
        return first_hl, None, None, notes

    def patient_dmg(self, buf: bytes, hl: int, clm: int) -> tuple[list[str] | None, Location | None]:
        """The patient's DMG: the first DMG after the HL the claim hangs under. Under an HL 23 that is
        the patient loop's (2010CA); under an HL 22 the subscriber is the patient (2010BA). A patient
        loop without DMG gives none: the subscriber's DMG is another person's."""
        if hl < 0 or self.delims is None:
            return None, None
        d = self.delims
        p = buf.find(b"DMG" + d.element, hl, clm)
        while p >= 0 and not _at_segment_start(buf, p, d.segment):
            p = buf.find(b"DMG" + d.element, p + 4, clm)
        if p < 0:
            return None, None
        hl_els = self.segment_elements(buf, hl)
        loop = "2010CA" if len(hl_els) > 3 and hl_els[3] == "23" else "2010BA"
        return self.segment_elements(buf, p), self.loc(buf, p, "DMG", None, loop)

    def full_claim(self, buf: bytes, start: int, end: int, raw_id: bytes, kind: ClaimKind, st: _Transaction) -> Item:
        d = self.delims
        assert d is not None
        hl, filing, sbr_loc, notes = self.context(buf, start)
        dmg, dmg_loc = self.patient_dmg(buf, hl, start)
        notes = self.pending_notes + notes
        self.pending_notes = []
        # identifiers are checked from the previous claim's end: the claim's own HL/SBR/NM1 loops
        self.scan_bad_segments(buf, min(self.scanned_upto, start), end, notes)
        seg_no, line = self.advance(buf, start)
        segments: list[Segment] = []
        # latin-1 maps every byte to one character, so string offsets are byte offsets
        term, el = d.segment.decode("latin-1"), d.element_s
        term_lines = term.count("\n")  # a line-break terminator: one line per segment
        offset = self.base + start
        longest = self.max_segment if self.max_segment > 0 else current().max_segment_bytes
        for piece in buf[start:end].decode("latin-1").split(term):
            stripped = piece.lstrip(" \t\r\n")
            lead = len(piece) - len(stripped)
            if lead:
                line += piece.count("\n", 0, lead)
            if len(stripped) > longest:  # an unterminated segment, or one no 837 has
                return ClaimError(
                    id=raw_id.decode("latin-1"),
                    source=ClaimSource(file=self.file, index=self.index),
                    error=f"segment {seg_no} (line {line}) is longer than the maximum segment length "
                    f"({longest} bytes): no segment terminator?",
                    location=Location(file=self.file, segment=seg_no, line=line, offset=offset + lead),
                )
            if stripped:
                elements = stripped.split(el)
                segments.append(Segment(elements[0], elements, seg_no, line, offset + lead))
                seg_no += 1
                if "\n" in stripped:
                    line += stripped.count("\n")
            line += term_lines
            offset += len(piece) + 1
        ctx = Context(
            file=self.file,
            index=self.index,
            kind=kind,
            component=d.component_s,
            repetition=d.repetition.decode("latin-1") if d.repetition else None,
            filing_indicator=filing,
            sbr_loc=sbr_loc,
            notes=notes,
            dmg=dmg,
            dmg_loc=dmg_loc,
        )
        try:
            return build_claim(segments, ctx)
        except ClaimReadError as exc:
            return ClaimError(
                id=raw_id.decode("latin-1"),  # "" when CLM01 is empty: None marks envelope entries
                source=ClaimSource(file=self.file, index=self.index),
                error=f"{exc} ({where(exc.loc)})",
                location=exc.loc,
            )
        except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
            # a shape no check above foresaw: the claim fails alone, named and located, and the
            # file goes on (the property tests look for these; none is known)
            loc = segments[0] if segments else None
            where_text = f"segment {loc.ordinal}, line {loc.line}" if loc else "its CLM"
            return ClaimError(
                id=raw_id.decode("latin-1"),  # "" when CLM01 is empty: None marks envelope entries
                source=ClaimSource(file=self.file, index=self.index),
                error=f"claim at {where_text} could not be read ({type(exc).__name__})",
                location=Location(
                    file=self.file, segment=loc.ordinal if loc else None, line=loc.line if loc else None
                ),
            )


# -- public API ------------------------------------------------------------------------------


def read(
    data: bytes, file: str, *, prefilter: re.Pattern[bytes] | None = None, skipped: Skipped | None = None
) -> Iterator[Item]:
    """Every claim in `data` in input order (see the module docstring for `prefilter`).

    With `skipped`, a prefiltered-out claim is not yielded but reported as ``skipped(index, id)``
    (in order with the yielded items): a batch then pays nothing for building it. A skipped
    claim that carries a note (an envelope problem) is yielded as a minimal claim instead."""
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    scanner = _Scanner(file, prefilter, skipped)
    return scanner.feed(data[start:] if start else data, start, final=True)


def _hl_cut(buf: bytes, d: Delimiters, lo: int, hi: int, longest: int = 1 << 20) -> int:
    """Start of the last HL 20/22 segment in ``buf[lo:hi]`` (by delimiters `d`), else 0.

    A segment is looked for its terminator within `longest` bytes (the maximum segment length):
    an unterminated segment full of "HL*" costs linear time, not quadratic."""
    marker = b"HL" + d.element
    while True:
        p = buf.rfind(marker, lo, hi)
        if p <= 0:
            return 0
        hi = p
        if not _at_segment_start(buf, p, d.segment):
            continue
        end = buf.find(d.segment, p, p + longest)
        if end < 0:
            continue
        els = buf[p:end].split(d.element)
        if len(els) > 3 and els[3] in (b"20", b"22"):
            return p


def _last_cut(buf: bytes, delims: Delimiters | None) -> int:
    """Offset of the last safe place to cut `buf`: the start of its last HL 20/22 segment.

    Never an ISA: a block starting with an ISA would let the envelope walk see it where the
    in-memory read would not (an ISA inside a transaction), and the two reads must agree."""
    isa = buf.rfind(b"ISA")
    while (
        isa > 0
        and buf[isa - 1 : isa] not in (b"\n", b"\r", b" ")
        and (delims is None or buf[isa - 1 : isa] != delims.segment)
    ):
        isa = buf.rfind(b"ISA", 0, isa)
    longest = current().max_segment_bytes
    if isa >= 0:
        isa_delims: Delimiters | None = None
        with contextlib.suppress(X12SyntaxError):
            isa_delims = parse_isa(buf, isa).delimiters
        if isa_delims is not None:
            cut = _hl_cut(buf, isa_delims, isa, len(buf), longest)
            if cut > 0:
                return cut
        return _hl_cut(buf, delims, 0, isa, longest) if delims is not None else 0
    return _hl_cut(buf, delims, 0, len(buf), longest) if delims is not None else 0


def read_stream(
    stream: BinaryIO,
    file: str,
    *,
    prefilter: re.Pattern[bytes] | None = None,
    skipped: Skipped | None = None,
    block_size: int = BLOCK_SIZE,
) -> Iterator[Item]:
    """Like :func:`read`, reading `stream` block by block: memory stays at a few blocks.

    Blocks are cut at the start of an HL 20/22 (or ISA) segment, so every claim and its subscriber
    loop are in the same block; the scanner carries the envelope state across blocks."""
    scanner = _Scanner(file, prefilter, skipped)
    yield from _scan_blocks(scanner, stream.read, block_size, 0, True)


def _scan_blocks(
    scanner: _Scanner, read_block: Callable[[int], bytes], block_size: int, base: int, first: bool,
) -> Iterator[Item]:
    """Feed `scanner` block by block from `read_block(size)` (empty at the end), each block cut at
    the last claim boundary; `base` is the offset of the first byte read, `first` whether it is the
    start of the file (where a UTF-8 BOM is skipped)."""
    tail = b""
    while True:
        # a tail with no place to cut (one huge claim, an unterminated segment) doubles the next
        # read: joining and searching it costs linear time overall, not quadratic
        block = read_block(max(block_size, len(tail)))
        if first and block[:3] == b"\xef\xbb\xbf":
            block, base = block[3:], base + 3
        first = False
        if not block:
            yield from scanner.feed(tail, base, final=True)
            return
        buf = tail + block if tail else block
        cut = _last_cut(buf, scanner.delims or scanner.last_delims)
        if cut <= 0:
            tail = buf
            continue
        yield from scanner.feed(buf[:cut], base, final=False)
        base += cut
        tail = buf[cut:]


def iter_files(path: str | os.PathLike[str], *, prefilter: re.Pattern[bytes] | None = None) -> Iterator[Item]:
    """Every claim in a file (plain or gzip) or in every file under a folder, streamed."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for p in files:
        with open_input(p) as fh:  # plain or gzip, bounded
            yield from read_stream(fh, str(p), prefilter=prefilter)


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    """The 837 with `fixes` applied (see :mod:`cartcode.formats.x12._writer`)."""
    from cartcode.formats.x12._writer import apply_fixes as _apply

    return _apply(data, file, fixes)
