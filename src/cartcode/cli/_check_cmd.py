"""`cartcode check CLAIM_FILE... [--format text|json|csv] [--fix --out PATH] [--select/--ignore RULES]`.

Exit codes (CONTRACT.md, README): 0 = every claim read and no error-level finding; 1 = an
error-level finding, or a claim that could not be read (reported as `status: failed`); 2 = usage
or input error - a file that cannot be read or is not JSON/X12/FHIR at all (named on stderr; the
other files are still checked and reported).

To add an option (e.g. `--strict`): add the parameter to `check()` below and a field to
:class:`CheckOptions`; :func:`run_check` receives the options.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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


def _fix_targets(files: list[Path], out: Path) -> dict[Path, Path]:
    """Where each input's fixed copy goes; never over an input."""
    inputs = {f.resolve() for f in files if str(f) != "-"}
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
        if target.resolve() in inputs:
            raise InputError("--out would overwrite an input file; choose another path", where=str(target))
    return targets


def run_check(options: CheckOptions) -> int:
    """Check the files, write the report as each claim is checked, write fixed copies; the exit code.

    The report is streamed (one file's results at a time, one claim at a time on the fast path),
    so memory stays bounded by the largest file read whole, whatever the output format."""
    from cartcode.checker import _engine as engine
    from cartcode.checker._registry import select_rules
    from cartcode.cli._render import CsvWriter, JsonWriter, ReportWriter, TextWriter
    from cartcode.findings import ClaimResult, KbStamp, Report
    from cartcode.kb.loader import load_kb

    if options.out is not None and not options.fix:
        raise InputError("--out is only used with --fix", where="--out")
    if options.fix and options.out is None:
        raise InputError("--fix needs --out PATH: cartcode never overwrites its input", where="--fix")
    try:
        rules = select_rules(options.select, options.ignore)
    except ValueError as exc:
        raise InputError(str(exc), where="--select/--ignore") from None
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

                results = check_results_fast(path, _name(path))
                data = b""
            else:
                data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
                results = engine.check_results(data, filename=_name(path), kb=kb, rules=rules)
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
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fixed)
    except OSError as exc:
        unreadable.append(f"cartcode: error: {target}: cannot write the fixed copy: {exc.strerror or exc}")
        return
    applied = sum(len(v) for v in engine.safe_fixes(report, _name(path)).values())
    typer.echo(f"cartcode: applied {applied} safe fix(es) to {path}, wrote {target}", err=True)


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
    ) -> None:
        """Check CAR-T claims against the rule catalogue: located, cited findings and safe fixes."""
        options = CheckOptions(
            files=files, format=format, fix=fix, out=out, select=_split(select), ignore=_split(ignore),
            strict=strict,
        )
        raise typer.Exit(run_check(options))
