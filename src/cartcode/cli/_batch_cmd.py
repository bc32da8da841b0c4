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


def batch(
    inputs: Annotated[list[str], typer.Argument(help=_INPUTS_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created; rerun to resume).")],
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (files; big files by ISA range).")] = 1,
    engine: Annotated[EngineName, typer.Option(help=_ENGINE_HELP)] = EngineName.local,
    master: Annotated[str | None, typer.Option(help="Spark master URL (default local[*]).")] = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help=_PROGRESS_HELP)] = None,
) -> None:
    """Check many or large claim files into Parquet and CSV (findings, claims), plus summary.json."""
    from cartcode.batch._run import run

    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder", where=str(out))
    summary = run(inputs, out, jobs=jobs, engine="spark" if engine == EngineName.spark else "local", master=master,
                  progress=progress)
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
