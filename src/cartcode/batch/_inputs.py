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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cartcode.errors import InputError
from cartcode.formats import detect_format
from cartcode.formats._gzip import (
    DEFAULT_LIMITS as DEFAULT_LIMITS,
)
from cartcode.formats._gzip import (
    GZIP_MAGIC as GZIP_MAGIC,
)
from cartcode.formats._gzip import (
    MAX_DECOMPRESSED_RATIO as MAX_DECOMPRESSED_RATIO,
)
from cartcode.formats._gzip import (
    MAX_DECOMPRESSED_SIZE as MAX_DECOMPRESSED_SIZE,
)
from cartcode.formats._gzip import (
    RATIO_FLOOR as RATIO_FLOOR,
)
from cartcode.formats._gzip import (
    BoundedGzip as BoundedGzip,
)
from cartcode.formats._gzip import (
    Limits as Limits,
)
from cartcode.formats._gzip import (
    is_gzip as is_gzip,
)
from cartcode.formats._gzip import (
    open_input as open_input,
)
from cartcode.formats._gzip import (
    read_all as read_all,
)

# re-exported: batch's modules open their inputs through here
from cartcode.formats._limits import is_blank

InputKind = Literal["x12", "json", "jsonl", "fhir", "fhir-ndjson", "empty", "unreadable"]
# names never treated as inputs when a folder is expanded (our own outputs, hidden files)
_SKIP_SUFFIXES = (".parquet", ".csv", ".tmp")



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
    if is_blank(head):  # the readers' own test: the same files are "empty" in check and batch
        return "empty"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
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
