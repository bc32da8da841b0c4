"""`cartcode check CLAIM_FILE... [--format text|json|csv] [--fix --out PATH] [--select/--ignore RULES]`.

Exit codes (CONTRACT.md, README): 0 = every claim read and no error-level finding; 1 = an
error-level finding, or a claim that could not be read (reported as `status: failed`); 2 = usage
or input error - a file that cannot be read or is not JSON/X12/FHIR at all (named on stderr; the
other files are still checked and reported).

To add an option (e.g. `--strict`): add the parameter to `check()` below and a field to
:class:`CheckOptions`; :func:`run_check` receives the options.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cartcode.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from cartcode.findings import Report


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@dataclass
class CheckOptions:
    files: list[Path]
    format: CheckFormat = CheckFormat.text
    fix: bool = False
    out: Path | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    strict: bool = False  # X12: conformance pass (see the X12 reader)
    grouping: bool = True  # MS-DRG grouping and the MCE on inpatient claims (--no-grouping turns them off)
    # input limits (cartcode.formats._limits; None/False: the environment's or the default)
    max_input_bytes: int | None = None
    allow_special_files: bool = False


# A plain X12 file at least this big is checked through the batch fast path (streamed, with the
# CAR-T pre-filter: claims that mention nothing CAR-T are counted as checked without building
# their model). Smaller files, --strict, --fix and rule selection take the full path, which also
# reports structural problems of non-CAR-T claims.
FAST_PATH_BYTES = 16 * 1024 * 1024


def _use_fast_path(path: Path, options: CheckOptions) -> bool:
    if str(path) == "-" or options.strict or options.fix or options.select or options.ignore:
        return False
    try:
        if path.stat().st_size < FAST_PATH_BYTES:
            return False
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False  # the full path reports the read error with the file named
    from cartcode.formats import detect_format

    return detect_format(head) == "x12"


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _name(path: Path) -> str:
    """The file name findings carry: `-` reads stdin."""
    return "<stdin>" if str(path) == "-" else str(path)


def _identity(path: Path | None) -> tuple[int, int] | None:
    """(device, inode) of a file (of stdin for None), None when there is none."""
    try:
        st = os.fstat(sys.stdin.fileno()) if path is None else os.stat(path)
    except (OSError, ValueError, AttributeError):
        return None
    return st.st_dev, st.st_ino


def _fix_targets(files: list[Path], out: Path) -> dict[Path, Path]:
    """Where each input's fixed copy goes; never over an input: not by name, not through a
    symlink, not through another hard link to it (same inode), not the file stdin reads."""
    inputs = {f.resolve() for f in files if str(f) != "-"}
    identities = {_identity(None if str(f) == "-" else f) for f in files} - {None}
    if len(files) == 1:
        targets = {files[0]: out}
    else:
        if out.exists() and not out.is_dir():
            raise InputError("with several input files --out must be a directory", where=str(out))
        names = [f.name for f in files]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"two inputs share the file name {dupes[0]}; fix them one at a time", where="--out")
        targets = {f: out / f.name for f in files}
    for target in targets.values():
        if target.resolve() in inputs or (target.exists() and _identity(target) in identities):
            raise InputError("--out would overwrite an input file; choose another path", where=str(target))
        if target.is_symlink():  # a link someone else planted: the fixed claim (PHI) would land elsewhere
            raise InputError("--out is a symbolic link; cartcode never writes through one", where=str(target))
    return targets


def _read_input(path: Path, options: CheckOptions) -> bytes:
    """The whole input, within the limits: at most max_input_bytes (stdin too); a FIFO, device or
    socket only with --allow-special-files (a FIFO would block, /dev/zero never end)."""
    from cartcode.formats._limits import current

    limit = current().max_input_bytes
    too_big = f"larger than the input limit ({limit} bytes; --max-input-bytes or CARTCODE_MAX_INPUT_BYTES)"
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise InputError(f"stdin is {too_big}", where="<stdin>")
        return data
    # O_NONBLOCK: opening a FIFO must not wait for a writer before its type is known
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as handle:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a directory, not a claim file", where=str(path))
        if not stat.S_ISREG(st.st_mode):
            if not current().allow_special_files:
                raise InputError(
                    "not a regular file (a FIFO, device or socket); --allow-special-files reads it", where=str(path)
                )
            os.set_blocking(fd, True)
        elif st.st_size > limit:
            raise InputError(f"is {too_big}", where=str(path))
        pieces: list[bytes] = []
        got = 0
        while got <= limit:
            piece = handle.read(min(1 << 20, limit + 1 - got))
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        if got > limit:
            raise InputError(f"is {too_big}", where=str(path))
        return b"".join(pieces)


def run_check(options: CheckOptions) -> int:
    """Check the files, write the report as each claim is checked, write fixed copies; the exit code.

    The report is streamed (one file's results at a time, one claim at a time on the fast path),
    so memory stays bounded by the largest file read whole, whatever the output format."""
    from cartcode.checker._registry import select_rules

    if options.out is not None and not options.fix:
        raise InputError("--out is only used with --fix", where="--out")
    if options.fix and options.out is None:
        raise InputError("--fix needs --out PATH: cartcode never overwrites its input", where="--fix")
    try:
        rules = select_rules(options.select, options.ignore)
    except ValueError as exc:
        raise InputError(str(exc), where="--select/--ignore") from None
    from cartcode.formats import _limits

    changes: dict[str, int | bool] = {}
    if options.max_input_bytes is not None:
        if options.max_input_bytes < 1:
            raise InputError("expected a positive number of bytes", where="--max-input-bytes")
        changes["max_input_bytes"] = options.max_input_bytes
    if options.allow_special_files:
        changes["allow_special_files"] = True
    with _limits.use(**changes):
        return _run_check(options, rules)


def _run_check(options: CheckOptions, rules: Any) -> int:
    from cartcode.checker import _engine as engine
    from cartcode.cli._render import CsvWriter, JsonWriter, ReportWriter, TextWriter
    from cartcode.findings import ClaimResult, KbStamp, Report
    from cartcode.kb.loader import load_kb

    targets = _fix_targets(options.files, options.out) if options.fix and options.out is not None else {}

    kb = load_kb()
    stamp = KbStamp(**kb.stamp())
    writer: ReportWriter
    if options.format == CheckFormat.json:
        writer = JsonWriter(sys.stdout)
    elif options.format == CheckFormat.csv:
        writer = CsvWriter(sys.stdout)
    else:
        from cartcode.cli._recommend_cmd import make_console

        writer = TextWriter(sys.stdout, make_console() if sys.stdout.isatty() else None)
    unreadable: list[str] = []
    exit_code = 0
    writer.begin(stamp)
    for path in options.files:
        try:
            results: Iterable[ClaimResult]
            if _use_fast_path(path, options):
                from cartcode.batch._run import check_results_fast

                results = check_results_fast(path, _name(path), grouping=options.grouping)
                data = b""
            else:
                data = _read_input(path, options)
                results = engine.check_results(
                    data, filename=_name(path), kb=kb, rules=rules, grouping=options.grouping
                )
                if options.strict:  # X12 only: pyx12's implementation-guide findings on the claims
                    from cartcode.formats.x12._strict import add_strict_findings

                    add_strict_findings(results, data, _name(path))
            kept: list[ClaimResult] = []
            for result in results:
                writer.claim(result)
                if result.status == "failed" or result.has_error:
                    exit_code = 1
                if path in targets:
                    kept.append(result)
        except OSError as exc:
            unreadable.append(f"cartcode: error: {path}: cannot read the file: {exc.strerror or exc}")
            continue
        except InputError as exc:
            unreadable.append(f"cartcode: error: {exc}")
            continue
        if path in targets:
            _write_fixed(path, targets[path], data, Report(kb=stamp, claims=kept), unreadable)
    writer.end()
    sys.stdout.flush()

    for message in unreadable:
        typer.echo(message, err=True)
    if unreadable:
        return 2
    return exit_code


def _write_fixed(path: Path, target: Path, data: bytes, report: Report, unreadable: list[str]) -> None:
    from cartcode.checker import _engine as engine

    try:
        fixed = engine.fix(data, _name(path), report)
    except (AttributeError, NotImplementedError):
        unreadable.append(f"cartcode: error: {path}: fixes are not available for this input format")
        return
    except InputError as exc:
        unreadable.append(f"cartcode: error: {path}: the fixes could not be applied: {exc}")
        return
    try:
        _write_private(target, fixed)
    except OSError as exc:
        unreadable.append(f"cartcode: error: {target}: cannot write the fixed copy: {exc.strerror or exc}")
        return
    applied = sum(len(v) for v in engine.safe_fixes(report, _name(path)).values())
    typer.echo(f"cartcode: applied {applied} safe fix(es) to {path}, wrote {target}", err=True)


def _write_private(target: Path, data: bytes) -> None:
    """Write `data` to `target` safely: a new file of mode 0600 under a temporary name in the same
    folder (O_CREAT|O_EXCL|O_NOFOLLOW: never through a symlink or over a file planted there), then
    renamed over `target`. A symlink at `target` is replaced, never followed; an input hard-linked
    there keeps its content (and _fix_targets refuses that case anyway)."""
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(target))
    folder = target.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    temp = folder / f".{target.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        files: Annotated[
            list[Path], typer.Argument(help="Claim files: our JSON, X12 837I/837P, or FHIR JSON; - for stdin.")
        ],
        format: Annotated[CheckFormat, typer.Option("--format", help="text, json or csv")] = CheckFormat.text,
        fix: Annotated[bool, typer.Option("--fix", help="Apply the safe fixes (needs --out).")] = False,
        out: Annotated[
            Path | None, typer.Option("--out", help="Where the fixed claim goes (a directory for several inputs).")
        ] = None,
        select: Annotated[
            list[str] | None, typer.Option("--select", help="Only these rules: ids, id prefixes or names (comma list).")
        ] = None,
        ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Skip these rules (same forms).")] = None,
        strict: Annotated[
            bool, typer.Option("--strict", help="X12: also validate against the implementation guide (pyx12).")
        ] = False,
        max_input_bytes: Annotated[
            int | None,
            typer.Option("--max-input-bytes", help="Largest input read whole, stdin too (default 1 GiB; "
                         "CARTCODE_MAX_INPUT_BYTES).", show_default=False),
        ] = None,
        allow_special_files: Annotated[
            bool,
            typer.Option("--allow-special-files", help="Also read FIFOs and devices (bounded by --max-input-bytes)."),
        ] = False,
        grouping: Annotated[
            bool,
            typer.Option(
                "--grouping/--no-grouping",
                help="MS-DRG grouping and Medicare Code Editor edits on inpatient claims (default on).",
            ),
        ] = True,
    ) -> None:
        """Check CAR-T claims against the rule catalogue: located, cited findings and safe fixes."""
        options = CheckOptions(
            files=files, format=format, fix=fix, out=out, select=_split(select), ignore=_split(ignore),
            strict=strict, grouping=grouping, max_input_bytes=max_input_bytes,
            allow_special_files=allow_special_files,
        )
        raise typer.Exit(run_check(options))
