"""The `cartcode` command line: a thin layer over the commands in cartcode.cli.

Exit codes (CONTRACT.md): 0 ran with no error-level finding; 1 at least one; 2 usage or input
error, with a message on stderr naming the file and place, never a traceback.
"""

from __future__ import annotations

import io
import sys

import typer

from cartcode.errors import InputError

app = typer.Typer(
    name="cartcode",
    help="Code and check CAR-T cell therapy claims from a cited, effective-dated knowledge base.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if not value:
        return
    from cartcode import __version__, _build
    from cartcode.kb.loader import load_kb

    typer.echo(f"cartcode {__version__}, KB edition {load_kb().edition}, {_build.describe()}")
    raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True,
        help="Print the version, the KB edition and whether the compiled hot path is in use.",
    ),
) -> None:
    """Code and check CAR-T cell therapy claims from a cited, effective-dated knowledge base."""


def _register() -> None:
    # Each command lives in its own module so that the front ends stay thin and separate.
    import importlib

    for module_name in ("_recommend_cmd", "_codes_cmd", "_check_cmd", "_rules_cmd", "_batch_cmd", "_serve_cmd",
                        "_kb_cmd"):
        importlib.import_module(f"cartcode.cli.{module_name}").register(app)


_register()


def main() -> None:
    # A lone surrogate (e.g. from a claim id in a broken file) is written escaped, never a crash.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        app(standalone_mode=True)
    except InputError as exc:
        typer.echo(f"cartcode: error: {exc}", err=True)
        sys.exit(2)
    except BrokenPipeError:  # `cartcode ... | head`
        sys.exit(0)
    except OSError as exc:  # the output could not be written: disk full, a read-only folder, ...
        where = f" {exc.filename}" if exc.filename else ""
        typer.echo(f"cartcode: error: cannot write{where}: {exc.strerror or exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
