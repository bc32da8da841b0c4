"""The one error type front ends turn into exit code 2 (CONTRACT.md): bad usage or bad input."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input or usage. The message names the file and the place (JSON path, segment, row)."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
