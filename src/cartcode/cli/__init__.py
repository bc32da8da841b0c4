"""The command line: ``cartcode`` (typer). ``main`` is the console-script entry point."""

from cartcode.cli._main import main

__all__ = ["main"]
