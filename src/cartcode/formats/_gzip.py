"""Opening an input file, plain or gzip (told by its magic bytes, not its name), through bounds:
a gzip stream stops with an InputError once it expands past its limits (a gzip bomb: 1 MB can
expand to gigabytes). One mechanism for every reader of files: check, batch and
``cartcode.formats.x12.iter_files`` (docs/security.md)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from cartcode.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED_SIZE = 4 << 30  # bytes one gzip input may expand to (--max-decompressed-size)
MAX_DECOMPRESSED_RATIO = 100  # decompressed / compressed bytes (--max-decompressed-ratio) ...
RATIO_FLOOR = 64 << 20  # ... enforced once this many bytes have come out (small files may be denser)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one input may cost (docs/security.md). A gzip input may expand to at most
    `max_decompressed_size` bytes, and to at most `max_decompressed_ratio` times its own size once
    `ratio_floor` bytes have come out; a FIFO or device read with ``--allow-special-files`` gives
    at most `max_decompressed_size` bytes. Past a bound the input ends in one failed row (after
    the claims read before it) and the batch goes on."""

    max_decompressed_size: int = MAX_DECOMPRESSED_SIZE
    max_decompressed_ratio: int = MAX_DECOMPRESSED_RATIO
    ratio_floor: int = RATIO_FLOOR


DEFAULT_LIMITS = Limits()


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


class BoundedGzip:
    """A gzip stream that stops with an InputError past `limits` (a gzip bomb: 1 MB of input can
    expand to gigabytes). Offers what the readers use: read, readline, iteration by line."""

    def __init__(self, raw: BinaryIO, path: Path, limits: Limits) -> None:
        self._raw = raw
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._where = str(path)
        self._limits = limits
        try:
            compressed = os.fstat(raw.fileno()).st_size
        except (OSError, AttributeError, ValueError):
            compressed = 0
        by_ratio = max(limits.ratio_floor, compressed * limits.max_decompressed_ratio)
        self._cap = min(limits.max_decompressed_size, by_ratio)
        self._by_ratio = by_ratio < limits.max_decompressed_size
        self._out = 0

    def _count(self, data: bytes) -> bytes:
        self._out += len(data)
        if self._out > self._cap:
            limit = (f"more than {self._limits.max_decompressed_ratio} times its compressed size "
                     "(--max-decompressed-ratio)" if self._by_ratio
                     else f"more than {self._limits.max_decompressed_size} bytes (--max-decompressed-size)")
            raise InputError(f"the gzip stream expands to {limit}; the rest of the file was not read",
                             where=self._where)
        return data

    def read(self, size: int | None = -1) -> bytes:
        room = self._cap - self._out + 1
        if size is None or size < 0:
            pieces: list[bytes] = []
            while piece := self._count(self._gz.read(min(1 << 20, self._cap - self._out + 1))):
                pieces.append(piece)
            return b"".join(pieces)
        return self._count(self._gz.read(min(size, room)))

    def readline(self, size: int | None = -1) -> bytes:
        room = self._cap - self._out + 1
        limit = room if size is None or size < 0 else min(size, room)
        return self._count(self._gz.readline(limit))

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._gz.seek(offset, whence)

    def close(self) -> None:
        self._gz.close()
        self._raw.close()

    def __enter__(self) -> BoundedGzip:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_input(path: Path, limits: Limits = DEFAULT_LIMITS) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip (told by its magic bytes, not its name),
    through `limits` (a gzip bomb ends in an InputError)."""
    try:
        handle = path.open("rb")
        head = handle.read(2)
        handle.seek(0)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from exc
    if head == GZIP_MAGIC:
        return BoundedGzip(handle, path, limits)  # type: ignore[return-value]
    return handle


def read_all(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    with open_input(path, limits) as handle:
        try:
            return handle.read()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"cannot read the file: {exc}", where=str(path)) from exc
