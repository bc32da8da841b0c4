"""Batch inputs: expand files, folders and globs; open plain or gzip; tell the format apart.

The format comes from the content (CONTRACT.md), after gunzip when the file starts with the gzip
magic bytes, never from the name.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from cartcode.errors import InputError
from cartcode.formats import detect_format

InputKind = Literal["x12", "json", "jsonl", "fhir", "fhir-ndjson", "empty", "unreadable"]
GZIP_MAGIC = b"\x1f\x8b"
# names never treated as inputs when a folder is expanded (our own outputs, hidden files)
_SKIP_SUFFIXES = (".parquet", ".csv", ".tmp")


@dataclass(frozen=True)
class InputFile:
    path: Path
    label: str  # the name written in the output rows (as the user named it, or found in a folder)
    size: int
    mtime_ns: int

    @property
    def fingerprint(self) -> str:
        """Changes when the file changes: a rerun redoes an input whose fingerprint moved."""
        return f"{self.size}:{self.mtime_ns}"

    @property
    def key(self) -> str:
        """A file-system-safe id for the input's part files."""
        digest = hashlib.sha256(str(self.path.resolve()).encode("utf-8")).hexdigest()[:16]
        return f"{digest}-{self.path.name[:40]}".replace(os.sep, "_")


def _stat(path: Path, label: str) -> InputFile:
    st = path.stat()
    return InputFile(path=path, label=label, size=st.st_size, mtime_ns=st.st_mtime_ns)


def expand(inputs: Iterable[str]) -> list[InputFile]:
    """Files as given; folders walked (sorted, hidden files skipped); globs expanded (sorted).

    Each file appears once, in the order first named. A name that matches nothing is an InputError.
    """
    seen: set[Path] = set()
    out: list[InputFile] = []

    def add(path: Path, label: str) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            out.append(_stat(path, label))

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and not p.name.endswith(_SKIP_SUFFIXES)
            )
            for p in found:
                add(p, str(p))
        elif path.is_file():
            add(path, item)
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise InputError("the pattern matches no file", where=item)
            for p in files:
                add(p, str(p))
        else:
            raise InputError("no such file or folder", where=item)
    if not out:
        raise InputError("no input files found", where=" ".join(inputs) or "(no inputs)")
    return out


def open_input(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip (told by its magic bytes, not its name)."""
    try:
        handle = path.open("rb")
        head = handle.read(2)
        handle.seek(0)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from exc
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def read_all(path: Path) -> bytes:
    with open_input(path) as handle:
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


def iter_lines(path: Path) -> Iterable[tuple[int, bytes]]:
    """(1-based line number, line) for every non-blank line of an NDJSON input, streamed."""
    with open_input(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line
