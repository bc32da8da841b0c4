"""Batch inputs: expand files, folders and globs; open plain or gzip; tell the format apart.

The format comes from the content (CONTRACT.md), after gunzip when the file starts with the gzip
magic bytes, never from the name.

Hostile inputs (docs/security.md, "Batch"): a gzip stream is read through a bound on its
decompressed size and ratio (:class:`Limits`); an input that is not a regular file (a FIFO, a
socket, a device, a dangling symlink) is never opened unless asked (``allow_special``) and is
otherwise reported as one failed row naming the problem; an input's fingerprint is the SHA-256
of its bytes, so resume never reuses results of a file edited in place.
"""

from __future__ import annotations

import functools
import glob
import gzip
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

from cartcode.errors import InputError
from cartcode.formats import detect_format

InputKind = Literal["x12", "json", "jsonl", "fhir", "fhir-ndjson", "empty", "unreadable"]
GZIP_MAGIC = b"\x1f\x8b"
# names never treated as inputs when a folder is expanded (our own outputs, hidden files)
_SKIP_SUFFIXES = (".parquet", ".csv", ".tmp")

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


@dataclass(frozen=True)
class InputFile:
    path: Path
    label: str  # the name written in the output rows (as the user named it, or found in a folder)
    size: int
    mtime_ns: int
    # why the input is not read (not a regular file, a dangling symlink): one failed row says so
    problem: str | None = None
    # the path the user named, when `path` is a private copy of it (a FIFO read with --allow-special-files)
    origin: Path | None = None

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes when the file's bytes change (SHA-256 of the content, not its size and mtime:
        an edit that keeps both must not reuse stale results); a rerun redoes an input whose
        fingerprint moved."""
        if self.problem is not None:
            return f"problem:{self.problem}"
        try:
            with self.path.open("rb") as handle:
                return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return f"unreadable:{self.size}:{self.mtime_ns}"  # the unit reports why when it runs

    @property
    def key(self) -> str:
        """A file-system-safe id for the input's part files."""
        where = self.origin if self.origin is not None else self.path
        digest = hashlib.sha256(str(where.absolute() if self.problem else where.resolve()).encode(
            "utf-8", "surrogateescape")).hexdigest()[:16]
        name = where.name[:40].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return f"{digest}-{name}".replace(os.sep, "_")


def _stat(path: Path, label: str) -> InputFile:
    st = path.stat()
    return InputFile(path=path, label=label, size=st.st_size, mtime_ns=st.st_mtime_ns)


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
SPECIAL_HINT = "pass --allow-special-files to read it"


def special_problem(path: Path) -> tuple[str, bool] | None:
    """Why `path` is not read as a regular file, and whether --allow-special-files would read
    it; None for a regular file (or a symlink to one). Never opens the file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            return "a symbolic link to nothing (dangling) or a link loop", False
        return f"cannot read the file: {exc.strerror or exc}", False
    if stat.S_ISREG(st.st_mode):
        return None
    for test, what in _SPECIAL_KINDS:
        if test(st.st_mode):
            return f"not a regular file: {what}", not stat.S_ISSOCK(st.st_mode)
    return "not a regular file", False


def expand(inputs: Iterable[str], *, allow_special: bool = False) -> list[InputFile]:
    """Files as given; folders walked (sorted, hidden files skipped); globs expanded (sorted).

    Each file appears once, in the order first named. A name that matches nothing is an InputError.
    An entry that is not a regular file (FIFO, socket, device, dangling symlink) is never opened:
    it is kept with its `problem` (one failed row) unless `allow_special` and it can be read (a
    FIFO or device: then `problem` is None and the caller reads it once, see `is_special`)."""
    seen: set[Path] = set()
    out: list[InputFile] = []

    def add(path: Path, label: str) -> None:
        found = special_problem(path)
        if found is None:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                out.append(_stat(path, label))
            return
        problem, readable = found
        resolved = path.absolute()
        if resolved in seen:
            return
        seen.add(resolved)
        if allow_special and readable:
            out.append(InputFile(path=path, label=label, size=0, mtime_ns=0))
        else:
            hint = f"; {SPECIAL_HINT}" if readable else ""
            out.append(InputFile(path=path, label=label, size=0, mtime_ns=0, problem=f"{problem}{hint}"))

    def listed(p: Path) -> bool:
        return not p.is_dir() and (p.is_file() or os.path.lexists(p))

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if listed(p) and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and not p.name.endswith(_SKIP_SUFFIXES)
            )
            for p in found:
                add(p, str(p))
        elif os.path.lexists(path):
            add(path, item)
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            files = [Path(m) for m in matches if listed(Path(m))]
            if not files:
                raise InputError("the pattern matches no file", where=item)
            for p in files:
                add(p, str(p))
        else:
            raise InputError("no such file or folder", where=item)
    if not out:
        raise InputError("no input files found", where=" ".join(inputs) or "(no inputs)")
    return out


def is_special(f: InputFile) -> bool:
    """A FIFO or device the user asked to read (--allow-special-files): read it once, into a copy."""
    return f.problem is None and f.origin is None and special_problem(f.path) is not None


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


def sniff(path: Path) -> InputKind:
    """The input's format, from its first bytes (after gunzip)."""
    head = b""
    with open_input(path) as handle:
        try:
            # small reads: a truncated gzip still gives the bytes before the damage, so its
            # first claims are read and the damage becomes one failed row after them
            while len(head) < 1 << 16:
                piece = handle.read(4096)
                if not piece:
                    break
                head += piece
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            if not head:
                raise InputError(f"cannot read the file: {exc}", where=str(path)) from exc
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> InputKind:
    """The format of an input from its first bytes (already decompressed)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return "empty"
    fmt = detect_format(head)
    if fmt == "x12":
        return "x12"
    if _is_ndjson(stripped):
        return "fhir-ndjson" if b'"resourceType"' in stripped.split(b"\n", 1)[0] else "jsonl"
    return "fhir" if fmt == "fhir" else "json"


def _is_ndjson(head: bytes) -> bool:
    """One JSON object per line: the first line parses alone and more content follows it."""
    first, sep, rest = head.partition(b"\n")
    if not sep or not rest.strip() or not first.strip().startswith(b"{"):
        return False
    try:
        json.loads(first)
    except ValueError:
        return False
    return True


def iter_lines(path: Path, limits: Limits = DEFAULT_LIMITS) -> Iterable[tuple[int, bytes]]:
    """(1-based line number, line) for every non-blank line of an NDJSON input, streamed."""
    with open_input(path, limits) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line
