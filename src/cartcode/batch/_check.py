"""Check one input (or one range of one) into output columns: the code batch, spark and the
big-file path of `check` share.

Results come out in chunks of at most ``CHUNK`` claims so memory stays flat whatever the input
size. Every claim read gives exactly one claims row (checked or failed), in input order.

Nothing about one input stops a batch: a claim the rules fail on (any exception) is a failed row
of its own, and a reader that fails (an InputError, or anything unexpected) ends its input with
one failed row after the claims read before it. Unexpected exceptions are named by type only:
their messages may quote claim content.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from cartcode.batch._inputs import DEFAULT_LIMITS, InputKind, Limits, iter_lines, open_input, read_all
from cartcode.batch._rows import Columns, finding_row
from cartcode.checker._engine import evaluate_claim, evaluate_contexts
from cartcode.findings import ClaimResult, Finding
from cartcode.formats._limits import empty_file
from cartcode.formats.x12._stream import SUPPORTS_SKIPPED, Range, is_cleared, read_stream
from cartcode.kb.loader import KB
from cartcode.model import Claim, ClaimError, ClaimSource

CHUNK: Final = 16_384
# With grouping on, claims read in full are checked BLOCK at a time (evaluate_contexts: the grouper's
# calls back to back); with grouping off one by one (nothing to gain: a block's claims only outlive
# the young generation). Measured (compiled, 837I CAR-T claims, best of 15 interleaved runs): small
# claims grouped 212 us a claim one by one, 165 in blocks of 4 or 8; large claims 313, 269 in
# blocks of 4, 306 in blocks of 8 (their objects overflow the young generation: full collections).
BLOCK: Final = 4


def internal_error(exc: BaseException, what: str) -> str:
    """The error text for an unexpected exception: its type only (the message may quote PHI)."""
    return f"internal error ({type(exc).__name__}) while {what}"


# MS-DRG grouping of inpatient claims: on unless the run turned it off (`batch --no-grouping`,
# `check --no-grouping` on the fast path). Set by the entry points of a run (process_unit,
# check_results_fast) for the claims they check; a context variable, so threads never share it.
GROUPING: Final[contextvars.ContextVar[bool]] = contextvars.ContextVar("cartcode_batch_grouping", default=True)
# The whole payment estimate of each inpatient claim is kept only where results go back to `check`
# (check_results_fast sets it); a batch run keeps what its claims table shows (total, complete), so a
# chunk of 16,384 inpatient claims does not hold 16,384 estimates with their formulas and warnings.
FULL_ESTIMATES: Final[contextvars.ContextVar[bool]] = contextvars.ContextVar("cartcode_batch_estimates",
                                                                            default=False)


def x12_prefilter(grouping: bool) -> re.Pattern[bytes]:
    """The X12 pre-filter for a run with MS-DRG grouping on or off. With grouping on, the variant that
    also reads every inpatient claim in full (its CLM05, see cartcode.formats.x12._prefilter), so a
    claim that mentions nothing CAR-T is still grouped, edited by the MCE and estimated as `check`
    does; with grouping off, the CAR-T pre-filter alone."""
    from cartcode.formats.x12._prefilter import bundled_x12_pattern

    return bundled_x12_pattern(inpatient=grouping)


def with_grouping(chunks: Iterator[Columns], grouping: bool) -> Iterator[Columns]:
    """`chunks`, each produced with GROUPING set to `grouping` in a context of their own (the caller's
    context is left as it is, whoever consumes the chunks and wherever they stop)."""
    ctx = contextvars.copy_context()
    ctx.run(GROUPING.set, grouping)
    while (cols := ctx.run(next, chunks, None)) is not None:
        yield cols


def check_claim(claim: Claim, kb: KB) -> tuple[list[Finding], dict[str, Any] | None, dict[str, Any] | None]:
    """The findings, the MS-DRG grouping and the payment estimate of one claim (grouping on or off as
    the run says: GROUPING; the estimate whole or as its table columns: FULL_ESTIMATES)."""
    # without FULL_ESTIMATES, the engine builds only the estimate's total and complete keys
    return evaluate_claim(claim, kb, grouping=GROUPING.get(), estimate_parts=FULL_ESTIMATES.get())


def result_of(item: Claim | ClaimError, kb: KB) -> ClaimResult:
    if isinstance(item, ClaimError):
        return ClaimResult(id=item.id, source=item.source, status="failed", error=item.error)
    try:
        findings, grouping, estimate = check_claim(item, kb)
    except Exception as exc:  # one claim the rules fail on fails alone
        return ClaimResult(id=item.id, source=item.source, status="failed",
                           error=internal_error(exc, "checking this claim; it was not checked"))
    return ClaimResult(id=item.id, source=item.source, status="checked", findings=findings, grouping=grouping,
                       estimate=estimate, service_month=item.service_month)


def columns_of(items: Iterable[Any], label: str, kb: KB, *, index_base: int = 0) -> Iterator[Columns]:
    """Chunks of output columns for reader items (Claim or ClaimError; a claim the pre-filter
    cleared is checked with no findings without running the rules).

    `index_base` is added to every claim index (NDJSON lines and file ranges count from 0)."""
    edition = kb.edition
    cols = Columns()
    # local bindings: this loop runs once per claim of the batch
    c_file, c_index, c_id, c_status = cols.file, cols.index, cols.claim_id, cols.status
    c_error, c_count = cols.error, cols.finding_count
    try:
        for item in items:
            if is_cleared(item):
                c_file.append(label)
                c_index.append(item.source.index + index_base)
                c_id.append(item.id)
                c_status.append("checked")
                c_error.append(None)
                c_count.append(0)
            else:
                result = result_of(item, kb)
                if index_base:
                    result.source = ClaimSource(file=result.source.file, index=result.source.index + index_base)
                cols.add_result(label, result, edition)
            if len(c_index) >= CHUNK:
                yield cols
                cols = Columns()
                c_file, c_index, c_id, c_status = cols.file, cols.index, cols.claim_id, cols.status
                c_error, c_count = cols.error, cols.finding_count
    except Exception:
        if len(cols):  # the claims read before the reader failed are kept; the caller reports the failure
            yield cols
        raise
    if len(cols):
        yield cols


class _Chunk:
    """One chunk of rows, built for the common case: a cleared claim costs two list appends;
    the constant columns (file, status, error, finding count) are filled in when it is full."""

    __slots__ = ("block", "estimate", "findings", "grouping", "ids", "idx", "kb", "label", "month", "pending",
                 "special")

    def __init__(self, label: str, kb: KB) -> None:
        self.label = label
        self.kb = kb
        self.idx: list[int] = []
        self.ids: list[str | None] = []
        self.special: dict[int, tuple[str, str | None, int]] = {}  # position -> status, error, count
        self.findings: list[dict[str, Any]] = []
        self.grouping: dict[int, dict[str, Any]] = {}  # position -> the claim's MS-DRG grouping
        self.estimate: dict[int, dict[str, Any]] = {}  # position -> the claim's payment estimate
        self.month: dict[int, str] = {}  # position -> the claim's month of service
        self.pending: list[tuple[int, int, Claim]] = []  # claims read in full, checked a block at a time
        self.block = BLOCK if GROUPING.get() else 1

    def add(self, item: Claim | ClaimError, index: int) -> None:
        """A claim read in full (checked by the rules, with the block it joins) or a claim that failed."""
        position = len(self.idx)
        self.idx.append(index)
        self.ids.append(item.id)
        if isinstance(item, ClaimError):
            self.special[position] = ("failed", item.error, 0)
            return
        self.pending.append((position, index, item))
        if len(self.pending) >= self.block:
            self.flush()

    def flush(self) -> None:
        """Check the claims waiting in the block (evaluate_contexts: phase by phase, each claim alone)."""
        pending = self.pending
        if not pending:
            return
        self.pending = []
        kb = self.kb
        answers = evaluate_contexts([claim for _, _, claim in pending], kb, grouping=GROUPING.get(),
                                    estimate_parts=FULL_ESTIMATES.get())
        edition = kb.edition
        for (position, index, claim), answer in zip(pending, answers, strict=True):
            if isinstance(answer, Exception):  # one claim the rules fail on fails alone
                self.special[position] = ("failed", internal_error(answer, "checking this claim; it was not checked"),
                                          0)
                continue
            findings, grouping, estimate = answer
            if grouping is not None:
                self.grouping[position] = grouping
            if estimate is not None:
                self.estimate[position] = estimate
            month = claim.service_month
            if month is not None:
                self.month[position] = month
            self.special[position] = ("checked", None, len(findings))
            for finding in findings:
                self.findings.append(finding_row(self.label, index, claim.id, finding, edition))

    def columns(self) -> Columns:
        self.flush()
        n = len(self.idx)
        status, count = ["checked"] * n, [0] * n
        error: list[str | None] = [None] * n
        for pos, (st, err, cnt) in self.special.items():
            status[pos], error[pos], count[pos] = st, err, cnt
        return Columns(file=[self.label] * n, index=self.idx, claim_id=self.ids, status=status, error=error,
                       finding_count=count, findings=self.findings, grouping=self.grouping, estimate=self.estimate,
                       service_month=self.month)


def x12_columns(
    stream: BinaryIO, label: str, kb: KB, prefilter: re.Pattern[bytes], *, rng: Range | None = None,
    index_base: int = 0,
) -> Iterator[Columns]:
    """Output columns for an X12 stream: cleared claims arrive through the reader's `skipped`
    callback straight into the columns (no object per claim), the others as items, in order."""
    if not SUPPORTS_SKIPPED:
        yield from columns_of(read_stream(stream, label, prefilter, rng=rng), label, kb, index_base=index_base)
        return
    done: list[_Chunk] = []
    chunk = _Chunk(label, kb)
    idx_append, ids_append = chunk.idx.append, chunk.ids.append

    def skipped(index: int, claim_id: str) -> None:
        nonlocal chunk, idx_append, ids_append
        idx_append(index + index_base)
        ids_append(claim_id)
        if len(chunk.idx) >= CHUNK:
            done.append(chunk)
            chunk = _Chunk(label, kb)
            idx_append, ids_append = chunk.idx.append, chunk.ids.append

    def skipped_many(index: int, claim_ids: list[str]) -> None:
        # `skipped` for each of a run, in bulk: same rows, same chunk boundaries
        nonlocal chunk, idx_append, ids_append
        pos, n = 0, len(claim_ids)
        while pos < n:
            take = min(CHUNK - len(chunk.idx), n - pos)
            first = index + pos + index_base
            chunk.idx.extend(range(first, first + take))
            chunk.ids.extend(claim_ids[pos : pos + take] if pos or take < n else claim_ids)
            pos += take
            if len(chunk.idx) >= CHUNK:
                done.append(chunk)
                chunk = _Chunk(label, kb)
                idx_append, ids_append = chunk.idx.append, chunk.ids.append

    try:
        for item in read_stream(stream, label, prefilter, rng=rng, skipped=skipped, skipped_many=skipped_many):
            if is_cleared(item):
                skipped(item.source.index, str(item.id))  # a reader without the callback yields minimal claims
            else:
                chunk.add(item, item.source.index + index_base)
                if len(chunk.idx) >= CHUNK:
                    done.append(chunk)
                    chunk = _Chunk(label, kb)
                    idx_append, ids_append = chunk.idx.append, chunk.ids.append
            if done:
                for full in done:
                    yield full.columns()
                done.clear()
    except Exception:
        # a damaged input (truncated gzip, a reader failure): the claims read before the damage
        # are kept, then the caller reports the damage as a failed row after them
        for full in done:
            yield full.columns()
        if chunk.idx:
            yield chunk.columns()
        raise
    for full in done:
        yield full.columns()
    if chunk.idx:
        yield chunk.columns()


def _relined(result: ClaimResult, line: int, index: int) -> ClaimResult:
    """An NDJSON line's result: its claim index in the file and its line in every location."""
    findings = [
        dataclasses.replace(f, location={**f.location, "line": line}) for f in result.findings
    ]
    error = f"line {line}: {result.error}" if result.error else None
    return ClaimResult(id=result.id, source=ClaimSource(file=result.source.file, index=index), status=result.status,
                       error=error, findings=findings, grouping=result.grouping, estimate=result.estimate,
                       service_month=result.service_month)


def _ndjson_results(lines: Iterable[tuple[int, bytes]], label: str, kb: KB) -> Iterator[ClaimResult]:
    from cartcode.errors import InputError
    from cartcode.formats import read_claims

    index = 0
    for number, line in lines:
        try:
            items = list(read_claims(line, label))
        except InputError as exc:  # one broken line fails alone, as a broken claim does
            yield ClaimResult(id=None, source=ClaimSource(file=label, index=index), status="failed",
                              error=f"line {number}: {exc}")
            index += 1
            continue
        for item in items:
            yield _relined(result_of(item, kb), number, index)
            index += 1


def _results_columns(results: Iterable[ClaimResult], label: str, kb: KB) -> Iterator[Columns]:
    cols = Columns()
    try:
        for result in results:
            cols.add_result(label, result, kb.edition)
            if len(cols) >= CHUNK:
                yield cols
                cols = Columns()
    except Exception:
        if len(cols):  # the lines read before a damaged input's error are kept
            yield cols
        raise
    if len(cols):
        yield cols


def check_input(
    path: Path,
    label: str,
    kind: InputKind,
    kb: KB,
    prefilter: re.Pattern[bytes],
    *,
    rng: Range | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Columns]:
    """Output columns for one input file (or one range of a plain X12 file), streamed.

    An input that cannot be read at all (not JSON, empty, truncated gzip, a gzip bomb, a reader
    that fails) is not an exception here: it becomes one `failed` row after the claims read
    before the problem, so a batch goes on and the problem stays visible in the claims table."""
    import gzip

    from cartcode.errors import InputError

    def columns() -> Iterator[Columns]:
        if kind == "unreadable":
            read_all(path, limits)  # raises the InputError that names the problem
        if kind == "empty":
            if rng is None:
                raise empty_file(label)
            return
        if kind == "x12":
            with open_input(path, limits) as handle:
                if rng is not None:
                    handle.seek(rng.start)
                yield from x12_columns(handle, label, kb, prefilter, rng=rng)
            return
        if kind in ("jsonl", "fhir-ndjson"):
            yield from _results_columns(_ndjson_results(iter_lines(path, limits), label, kb), label, kb)
            return
        from cartcode.formats import read_claims

        yield from columns_of(read_claims(read_all(path, limits), label), label, kb)

    yield from _failing_alone(columns(), label, kb.edition, (InputError, OSError, EOFError, gzip.BadGzipFile))


def _failing_alone(
    columns: Iterator[Columns], label: str, edition: str, read_errors: tuple[type[BaseException], ...],
) -> Iterator[Columns]:
    """`columns`, then, if reading failed, one failed row after the claims read before the problem:
    a read error (`read_errors`) by its message, any other exception (a reader that is not total)
    as an internal error."""
    from cartcode.errors import InputError

    seen = 0
    try:
        for cols in columns:
            seen += len(cols)
            yield cols
    except read_errors as exc:
        message = str(exc) if isinstance(exc, InputError) else f"{label}: cannot read the file: {exc}"
        yield failed_columns(label, seen, message, edition)
    except Exception as exc:  # a reader that is not total: this input fails, the batch goes on
        yield failed_columns(label, seen, f"{label}: {internal_error(exc, 'reading the file')}; the claims "
                             "after this point were not read", edition)


def failed_columns(label: str, index: int, message: str, edition: str) -> Columns:
    """One failed claims row: an input (or the rest of one) that could not be read."""
    cols = Columns()
    cols.add_result(label, ClaimResult(id=None, source=ClaimSource(file=label, index=index), status="failed",
                                       error=message), edition)
    return cols


def check_bytes(data: bytes, label: str, kb: KB, prefilter: re.Pattern[bytes]) -> Iterator[Columns]:
    """Output columns for one input held in memory (spark rows, `check` on big files); as
    :func:`check_input`, a reader failure is one failed row after the claims read before it."""
    from cartcode.errors import InputError

    yield from _failing_alone(_check_bytes(data, label, kb, prefilter), label, kb.edition, (InputError,))


def _check_bytes(data: bytes, label: str, kb: KB, prefilter: re.Pattern[bytes]) -> Iterator[Columns]:
    import io

    from cartcode.batch._inputs import sniff_bytes

    kind = sniff_bytes(data)
    if kind == "empty":
        yield failed_columns(label, 0, str(empty_file(label)), kb.edition)
        return
    if kind == "x12":
        yield from x12_columns(io.BytesIO(data), label, kb, prefilter)
        return
    if kind in ("jsonl", "fhir-ndjson"):
        lines = ((n, line) for n, line in enumerate(data.splitlines(keepends=True), start=1) if line.strip())
        yield from _results_columns(_ndjson_results(lines, label, kb), label, kb)
        return
    from cartcode.formats import read_claims

    yield from columns_of(read_claims(data, label), label, kb)
