"""`cartcode batch`: check many and large inputs into Parquet and CSV, resumably.

Layout of ``--out DIR``::

    findings.parquet  findings.csv   one row per finding (batch_schema.FINDINGS_COLUMNS)
    claims.parquet    claims.csv     one row per claim read, checked or failed (CLAIMS_COLUMNS)
    summary.json                     counts, findings by rule and severity, KB edition, inputs
    manifest.json                    the units of work already done (for resume)
    parts/                           each unit's own results

A unit is one input file, or one range of a big plain X12 file cut at interchange boundaries.
Each unit writes its part files under a hidden temporary name and renames them when complete
(rename is atomic), then the coordinator records it in the manifest (also written, then
renamed). A rerun skips the units the manifest holds (same file content - its SHA-256 - same
KB edition) and merges every part, in input order, into the final files, which are again written
under temporary names and renamed: an interrupted run never leaves a half-written file visible,
and the final files are the same bytes as an uninterrupted run's.

Hostile inputs and faults (docs/security.md, "Batch"): whatever happens while one input is read
or checked becomes a failed row and the run goes on; every file written is created 0600 under a
private temporary name, never through a symlink (cartcode.batch._files); `--jobs N` workers end
when the coordinator dies, even by SIGKILL.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cartcode.batch._files import DIR_MODE, create_private, private_dir, tmp_name, write_bytes_atomic
from cartcode.batch._inputs import (
    DEFAULT_LIMITS,
    InputFile,
    InputKind,
    Limits,
    expand,
    is_special,
    sniff,
)
from cartcode.batch._rows import Columns
from cartcode.errors import InputError
from cartcode.findings import ClaimResult
from cartcode.formats._gzip import is_gzip
from cartcode.formats.x12._stream import Range, plan_ranges

Engine = Literal["local", "spark"]
MANIFEST = "manifest.json"
# bump when the part files' format changes: older parts are then redone (3: content hashes; 4: grouping columns;
# 5: estimate and service-month columns; 6: outpatient and professional claims' estimates)
MANIFEST_VERSION = 6
OUTPUTS = ("findings.parquet", "findings.csv", "claims.parquet", "claims.csv", "summary.json")
RANGE_BYTES = 128 << 20  # a plain X12 file bigger than this is cut into ranges of about this size
MIN_SPLIT_BYTES = 16 << 20  # with --jobs N, files bigger than this are cut into at least N ranges


@dataclass(frozen=True)
class Unit:
    input: InputFile
    kind: InputKind
    part: int = 0
    rng: Range | None = None

    @property
    def key(self) -> str:
        return f"{self.input.key}.{self.part:04d}"

    @property
    def size(self) -> int:
        return self.rng.end - self.rng.start if self.rng is not None else self.input.size

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "file": self.input.label,
            "fingerprint": self.input.fingerprint,
            "range": [self.rng.start, self.rng.end] if self.rng is not None else None,
        }


@dataclass
class Stats:
    claims: int = 0
    checked: int = 0
    failed: int = 0
    findings: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)

    def add(self, cols: Columns) -> None:
        self.claims += len(cols)
        failed = cols.status.count("failed")
        self.failed += failed
        self.checked += len(cols) - failed
        self.findings += len(cols.findings)
        for row in cols.findings:
            self.by_rule[row["rule"]] += 1
            self.by_severity[row["severity"]] += 1

    def merge(self, other: Stats) -> None:
        self.claims += other.claims
        self.checked += other.checked
        self.failed += other.failed
        self.findings += other.findings
        self.by_rule.update(other.by_rule)
        self.by_severity.update(other.by_severity)

    def to_json(self) -> dict[str, Any]:
        return self.counts("claims", "by_")

    def counts(self, claims_key: str, by_prefix: str) -> dict[str, Any]:
        """The counts under the given names of the claims count and of the by-rule and by-severity tallies."""
        return {
            claims_key: self.claims,
            "checked": self.checked,
            "failed": self.failed,
            "findings": self.findings,
            f"{by_prefix}rule": dict(sorted(self.by_rule.items())),
            f"{by_prefix}severity": dict(sorted(self.by_severity.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        return cls(
            claims=data["claims"], checked=data["checked"], failed=data["failed"], findings=data["findings"],
            by_rule=Counter(data["by_rule"]), by_severity=Counter(data["by_severity"]),
        )


# -- atomic files ------------------------------------------------------------------------------
def _tmp(path: Path) -> Path:
    # hidden and unique per process: a killed run leaves at most a dot-file, never a real name
    return tmp_name(path)


def write_json_atomic(path: Path, data: Any) -> None:
    # ensure_ascii (json's default): a lone surrogate in a file name is written as its escape
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def _clean_stale_tmp(directory: Path) -> None:
    if directory.is_dir():
        for p in directory.glob(".*.tmp-*"):
            p.unlink(missing_ok=True)


# -- planning ----------------------------------------------------------------------------------
def plan(files: Sequence[InputFile], jobs: int) -> list[Unit]:
    """The units of work, in input order: one per file, several for a big plain X12 file."""
    units: list[Unit] = []
    for f in files:
        if f.problem is not None:
            units.append(Unit(f, "unreadable"))  # never opened: one failed row names the problem
            continue
        try:
            kind = sniff(f.path)
        except Exception:  # InputError, or a reader that is not total: the unit reports it
            kind = "unreadable"  # reported as one failed row when the unit runs; the batch goes on
        try:
            parts = 1
            if kind == "x12" and not is_gzip(f.path):
                parts = math.ceil(f.size / RANGE_BYTES)
                if jobs > 1 and f.size >= MIN_SPLIT_BYTES:
                    parts = max(parts, jobs)
            if parts > 1:
                with f.path.open("rb") as fh:
                    ranges = plan_ranges(fh, f.size, parts)
                if len(ranges) > 1:
                    units.extend(Unit(f, kind, i, r) for i, r in enumerate(ranges))
                    continue
        except Exception:
            pass  # not cut: the whole file is one unit, read sequentially (always right)
        units.append(Unit(f, kind))
    return units


# -- one unit ----------------------------------------------------------------------------------
def _part_paths(parts: Path, unit: Unit) -> tuple[Path, Path]:
    """The unit's rows (marshal chunks, see Columns.dump) and its stats (JSON)."""
    return (parts / f"{unit.key}.rows", parts / f"{unit.key}.json")


def write_part(parts: Path, unit: Unit, chunks: Iterable[Columns]) -> dict[str, Any]:
    """Write one unit's part files atomically; returns its manifest entry."""
    rows_path, stats_path = _part_paths(parts, unit)
    rows_tmp = _tmp(rows_path)
    stats = Stats()
    try:
        with create_private(rows_tmp) as handle:
            for cols in chunks:
                cols.dump(handle)
                stats.add(cols)
    except BaseException:
        rows_tmp.unlink(missing_ok=True)
        raise
    os.replace(rows_tmp, rows_path)
    data = {**unit.manifest_entry(), "stats": stats.to_json()}
    write_json_atomic(stats_path, data)
    return data


def process_unit(unit: Unit, out: Path, limits: Limits = DEFAULT_LIMITS, grouping: bool = True) -> dict[str, Any]:
    """Check one unit and write its part files (atomically). Runs in a worker process.
    `grouping=False` (batch --no-grouping): no MS-DRG grouping of inpatient claims (and the X12
    pre-filter clears the inpatient claims that mention nothing CAR-T, as it does every other).

    Never raises for what is in the input: check_input turns any failure into a failed row."""
    from cartcode.batch._check import GROUPING, check_input, failed_columns, x12_prefilter
    from cartcode.kb.loader import load_kb

    kb = load_kb()
    if unit.input.problem is not None:
        label = unit.input.label
        return write_part(out / "parts", unit, [failed_columns(label, 0, f"{label}: {unit.input.problem}", kb.edition)])
    pattern = x12_prefilter(grouping)  # only X12 inputs use the pre-filter
    chunks = check_input(unit.input.path, unit.input.label, unit.kind, kb, pattern, rng=unit.rng, limits=limits)
    token = GROUPING.set(grouping)
    try:
        return write_part(out / "parts", unit, chunks)
    finally:
        GROUPING.reset(token)


# -- manifest ----------------------------------------------------------------------------------
def _load_manifest(out: Path, edition: str) -> dict[str, Any]:
    path = out / MANIFEST
    fresh: dict[str, Any] = {"version": MANIFEST_VERSION, "kb_edition": edition, "units": {}}
    if not path.exists():
        return fresh
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fresh  # unreadable manifest: redo everything (parts are rewritten atomically)
    if (not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION or data.get("kb_edition") != edition
            or not isinstance(data.get("units"), dict)):
        return fresh
    return data


def _done(manifest: dict[str, Any], unit: Unit, parts: Path) -> bool:
    entry = manifest["units"].get(unit.key)
    if not isinstance(entry, dict):
        return False
    if {k: entry.get(k) for k in ("file", "fingerprint", "range")} != unit.manifest_entry():
        return False
    return all(p.exists() for p in _part_paths(parts, unit))


# -- merge -------------------------------------------------------------------------------------
IN_PROCESS_MERGE_ROWS = 250_000  # below this many claims, merging here beats starting a process


def merge_files(out: Path, sources: Sequence[tuple[Path, int]], rows: int) -> None:
    """Run the Arrow merge (cartcode.batch._merge). For big outputs in a process of its own, so
    the checking process never holds pyarrow (see batch_arrow's docstring); small outputs are
    merged here, where the ~0.5 s a new process with pyarrow costs would dominate. Same code,
    same bytes either way."""
    if rows < IN_PROCESS_MERGE_ROWS:
        from cartcode.batch._merge import merge_parts

        merge_parts(out, [(str(p), b) for p, b in sources])
        return
    plan = json.dumps({"out": str(out), "sources": [(str(p), b) for p, b in sources]})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_src_dir(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "cartcode.batch._merge"], input=plan, text=True,
                          capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"writing the merged files failed: {proc.stderr.strip()[-2000:]}")


def _src_dir() -> str:
    return str(Path(__file__).resolve().parents[1])


def summary_json(kb_stamp: dict[str, str], inputs: list[tuple[str, str, Stats]], engine: str) -> dict[str, Any]:
    total = Stats()
    for _, _, s in inputs:
        total.merge(s)
    return {
        "kb": kb_stamp,
        **total.counts("claims_read", "findings_by_"),
        "inputs": [{"file": label, "format": kind, **s.to_json()} for label, kind, s in inputs],
        "outputs": {"findings": ["findings.parquet", "findings.csv"], "claims": ["claims.parquet", "claims.csv"]},
    }


def merge(out: Path, units: Sequence[Unit], records: dict[str, dict[str, Any]], kb_stamp: dict[str, str],
          engine: str = "local") -> dict[str, Any]:
    """Write the final files from the units' parts, in input order."""
    parts = out / "parts"
    sources: list[tuple[Path, int]] = []
    per_input: dict[str, tuple[str, Stats]] = {}
    base_of: dict[str, int] = {}
    for unit in units:
        stats = Stats.from_json(records[unit.key]["stats"])
        label = unit.input.label
        base = base_of.get(label, 0) if unit.part else 0
        sources.append((_part_paths(parts, unit)[0], base))
        base_of[label] = base + stats.claims
        if label in per_input:
            per_input[label][1].merge(stats)
        else:
            per_input[label] = (unit.kind, stats)
    merge_files(out, sources, sum(s.claims for _, s in per_input.values()))
    summary = summary_json(kb_stamp, [(label, kind, s) for label, (kind, s) in per_input.items()], engine)
    write_json_atomic(out / "summary.json", summary)
    return summary


# -- the run -----------------------------------------------------------------------------------
ProgressFn = Callable[[Unit], None]


def _spool(f: InputFile, parts: Path, number: int, limits: Limits) -> InputFile:
    """A FIFO or device (--allow-special-files) read once, at most `max_decompressed_size`
    bytes, into a private copy that the units then read like a file."""
    copy = parts / f".spool-{number}.tmp-{os.getpid()}"
    size = 0
    problem = None
    try:
        with f.path.open("rb") as source, create_private(copy) as sink:
            while piece := source.read(1 << 20):
                size += len(piece)
                if size > limits.max_decompressed_size:
                    problem = (f"more than {limits.max_decompressed_size} bytes (--max-decompressed-size); "
                               "not read")
                    break
                sink.write(piece)
    except OSError as exc:
        problem = f"cannot read the file: {exc.strerror or exc}"
    if problem is not None:
        copy.unlink(missing_ok=True)
        return InputFile(path=f.path, label=f.label, size=0, mtime_ns=0, problem=problem)
    return InputFile(path=copy, label=f.label, size=size, mtime_ns=0, origin=f.path)


def run(
    inputs: Sequence[str],
    out: Path,
    *,
    jobs: int = 1,
    engine: Engine = "local",
    master: str | None = None,
    progress: bool | None = None,
    limits: Limits = DEFAULT_LIMITS,
    allow_special: bool = False,
    grouping: bool = True,
) -> dict[str, Any]:
    """Check every input into `out` (see the module docstring); returns the summary.
    `grouping=False` leaves the MS-DRG grouping columns empty and the grouping rules silent."""
    from cartcode.kb.loader import load_kb

    if jobs < 1:
        raise InputError("--jobs must be at least 1", where="--jobs")
    out_dir = out.resolve()
    # our own outputs are never inputs (an --out inside an input folder, or a rerun over it)
    files = [f for f in expand(inputs, allow_special=allow_special) if not f.path.absolute().is_relative_to(out_dir)
             and (f.problem is not None or not f.path.resolve().is_relative_to(out_dir))]
    if not files:
        raise InputError("no input files outside the output folder", where=str(out))
    kb = load_kb()
    out.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    parts = out / "parts"
    private_dir(parts)
    _clean_stale_tmp(out)
    _clean_stale_tmp(parts)
    # FIFOs and devices (--allow-special-files) are read once, into private copies (removed at
    # the end; a killed run's are removed with the other stale temporary files by the next run)
    files = [_spool(f, parts, i, limits) if is_special(f) else f for i, f in enumerate(files)]
    if engine == "spark":
        from cartcode.batch.spark import run_batch

        # the spark engine reads every file it gets: refused ones (FIFOs, dangling links) are left out
        return run_batch([f for f in files if f.problem is None], out, master=master, kb_stamp=kb.stamp(),
                         grouping=grouping)
    units = plan(files, jobs)
    # parts made with grouping off are not reused by a run with it on (and the other way round)
    manifest = _load_manifest(out, kb.edition if grouping else f"{kb.edition} (no grouping)")
    todo = [u for u in units if not _done(manifest, u, parts)]
    show = sys.stderr.isatty() if progress is None else progress

    def record(unit: Unit, data: dict[str, Any]) -> None:
        manifest["units"][unit.key] = data
        write_json_atomic(out / MANIFEST, manifest)

    with _progress(show, units, todo) as advance:
        if jobs == 1 or len(todo) <= 1:
            for unit in todo:
                record(unit, process_unit(unit, out, limits, grouping))
                advance(unit)
        else:
            _run_parallel(todo, out, jobs, record, advance, limits, grouping)
    records = {u.key: manifest["units"][u.key] for u in units}
    summary = merge(out, units, records, kb.stamp(), engine)
    for f in files:
        if f.origin is not None:
            f.path.unlink(missing_ok=True)
    return summary


PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_SECONDS = 1.0


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the coordinator `parent` dies, even by SIGKILL
    (a worker must not sleep forever holding claims in memory). On Linux the kernel sends
    SIGKILL (prctl PR_SET_PDEATHSIG); everywhere, a daemon thread also watches os.getppid() (a
    worker forked by a forkserver has the forkserver as parent, which exits with the coordinator)."""
    ppid = os.getppid()
    if ppid == parent and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher below still works

    def orphaned() -> bool:
        if os.getppid() != ppid:
            return True
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False

    if orphaned():  # the coordinator died before the prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if orphaned():
                os._exit(1)

    threading.Thread(target=watch, name="cartcode-parent-watch", daemon=True).start()


def _run_parallel(todo: Sequence[Unit], out: Path, jobs: int, record: Callable[[Unit, dict[str, Any]], None],
                  advance: ProgressFn, limits: Limits = DEFAULT_LIMITS, grouping: bool = True) -> None:
    with ProcessPoolExecutor(max_workers=jobs, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        pending: dict[Future[dict[str, Any]], Unit] = {}
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < jobs * 2:
                unit = queue.pop(0)
                pending[pool.submit(process_unit, unit, out, limits, grouping)] = unit
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                unit = pending.pop(fut)
                record(unit, fut.result())
                advance(unit)


class _progress:
    """A rich progress bar over input bytes on a terminal; nothing otherwise."""

    def __init__(self, show: bool, units: Sequence[Unit], todo: Sequence[Unit]) -> None:
        self.show = show
        self.total = sum(u.size for u in units)
        self.done = self.total - sum(u.size for u in todo)
        self.bar: Any = None

    def __enter__(self) -> ProgressFn:
        if not self.show:
            return lambda unit: None
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("checking"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                            transient=True)
        self.bar.start()
        task = self.bar.add_task("batch", total=self.total, completed=self.done)
        return lambda unit: self.bar.advance(task, unit.size)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def iter_columns(path: Path, label: str | None = None) -> Iterator[Columns]:
    """Output columns for one file through the batch fast path, with MS-DRG grouping on or off as
    the caller's GROUPING says."""
    from cartcode.batch._check import GROUPING, check_input, x12_prefilter
    from cartcode.kb.loader import load_kb

    kind = sniff(path)
    yield from check_input(path, label or str(path), kind, load_kb(), x12_prefilter(GROUPING.get()))


def check_results_fast(
    data: bytes | Path, filename: str | None = None, *, grouping: bool = True
) -> Iterator[ClaimResult]:
    """Every claim's result, in input order, through the batch fast path: the entry point for
    `cartcode check` on big inputs. Same results as :func:`cartcode.checker._engine.check_results` with
    the CAR-T pre-filter (claims that mention nothing CAR-T are checked with no findings,
    without building their model, except inpatient claims with grouping on: those are read in full
    and grouped); X12 is streamed from a path in constant memory."""
    from cartcode.batch._check import FULL_ESTIMATES, GROUPING, check_bytes, check_input, x12_prefilter
    from cartcode.kb.loader import load_kb

    kb = load_kb()
    GROUPING.set(grouping)  # this generator's claims (it runs in its caller's context)
    FULL_ESTIMATES.set(True)  # check's report carries each claim's whole estimate
    pattern = x12_prefilter(grouping)  # with grouping on, every inpatient claim is read in full
    if isinstance(data, Path):
        label = filename or str(data)
        chunks = check_input(data, label, sniff(data), kb, pattern)
    else:
        label = filename or "<input>"
        chunks = check_bytes(data, label, kb, pattern)
    for cols in chunks:
        yield from cols.results()
