"""`cartcode batch INPUT... --out DIR [--jobs N] [--engine local|spark] [--master URL]`.

Exit codes as `check`: 0 = every claim read, no error-level finding; 1 = an error-level finding or
a claim that could not be read (failed); 2 = usage or input error.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cartcode.errors import InputError


class EngineName(StrEnum):
    local = "local"
    spark = "spark"


_INPUTS_HELP = "837, JSON/JSONL and FHIR (NDJSON) files, folders or globs; .gz too."
_ENGINE_HELP = "local processes, or PySpark (needs the cartcode \\[spark] extra)."
_PROGRESS_HELP = "Progress bar (default: on a terminal)."
_GROUPING_HELP = "MS-DRG grouping and Medicare Code Editor edits on inpatient claims (default on)."
_MAX_SIZE_HELP = ("Most bytes one gzip input may expand to (and most read from a FIFO or device), e.g. 512M, 4G; "
                  "past it the input ends in a failed row. [default: 4G]")
_MAX_RATIO_HELP = "Most a gzip input may expand, as a multiple of its size, once 64 MiB have come out."
_SPECIAL_HELP = "Read FIFOs and devices named as inputs (once); without it they are failed rows, never opened."
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes from '4G', '512M', '1048576' (binary units; a trailing 'B' or 'iB' is allowed)."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (value[:-1], value[-1]) if value[-1:] in _UNITS else (value, "")
    if not number.isdigit() or int(number) < 1:
        raise InputError(f"not a size: {text!r} (e.g. 512M, 4G)", where="--max-decompressed-size")
    return int(number) * _UNITS[unit]


def batch(
    inputs: Annotated[list[str], typer.Argument(help=_INPUTS_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created; rerun to resume).")],
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (files; big files by ISA range).")] = 1,
    engine: Annotated[EngineName, typer.Option(help=_ENGINE_HELP)] = EngineName.local,
    master: Annotated[str | None, typer.Option(help="Spark master URL (default local[*]).")] = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help=_PROGRESS_HELP)] = None,
    max_decompressed_size: Annotated[str, typer.Option(help=_MAX_SIZE_HELP, show_default=False,
                                                       envvar="CARTCODE_MAX_DECOMPRESSED_SIZE")] = "4G",
    max_decompressed_ratio: Annotated[int, typer.Option(min=1, help=_MAX_RATIO_HELP,
                                                        envvar="CARTCODE_MAX_DECOMPRESSED_RATIO")] = 100,
    allow_special_files: Annotated[bool, typer.Option("--allow-special-files", help=_SPECIAL_HELP,
                                                      envvar="CARTCODE_ALLOW_SPECIAL_FILES")] = False,
    grouping: Annotated[bool, typer.Option("--grouping/--no-grouping", help=_GROUPING_HELP)] = True,
    report: Annotated[bool, typer.Option("--report", help="Also write report.html: counts and charts, "
                                         "aggregates only, one self-contained file.")] = False,
) -> None:
    """Check many or large claim files into Parquet and CSV (findings, claims), plus summary.json."""
    from cartcode.batch._inputs import Limits
    from cartcode.batch._run import run

    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder", where=str(out))
    limits = Limits(max_decompressed_size=parse_size(max_decompressed_size),
                    max_decompressed_ratio=max_decompressed_ratio)
    summary = run(inputs, out, jobs=jobs, engine="spark" if engine == EngineName.spark else "local", master=master,
                  progress=progress, limits=limits, allow_special=allow_special_files, grouping=grouping)
    if report:
        from cartcode.batch._report import write_report

        write_report(out)
    by_severity = summary["findings_by_severity"]
    typer.echo(
        f"{summary['claims_read']} claims read: {summary['checked']} checked, {summary['failed']} failed; "
        f"{summary['findings']} findings ({by_severity.get('error', 0)} error, "
        f"{by_severity.get('warning', 0)} warning, {by_severity.get('info', 0)} info); "
        f"KB {summary['kb']['edition']}; results in {out}",
        err=True,
    )
    # as `check`: a claim that could not be read cannot be sent either
    raise typer.Exit(1 if by_severity.get("error", 0) or summary["failed"] else 0)


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
