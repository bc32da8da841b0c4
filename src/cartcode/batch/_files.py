"""Private output files for `cartcode batch`: created 0600, never through a symlink.

Every file batch writes (part files, the manifest, the final Parquet/CSV files, summary.json) is
first created under a hidden temporary name in the output folder with ``O_CREAT | O_EXCL |
O_NOFOLLOW`` and mode 0600, then renamed over its final name. ``O_EXCL`` refuses a name that
already exists, a planted symlink included, so nothing is ever written through a link the run
did not create; a stale entry under the temporary name (a killed run's, or a planted one) is
removed - the link itself, never its target - and the create is tried once more. The rename
replaces a directory entry, so a symlink planted under a final name is replaced, not followed.

Kept free of cartcode imports: the merge process (``python -m cartcode.batch._merge``) uses it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIR_MODE = 0o700
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def tmp_name(path: Path) -> Path:
    """Hidden and unique per process: a killed run leaves at most a dot-file, never a real name."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def create_private(path: Path) -> BinaryIO:
    """A new file at `path`, opened for writing, mode 0600; an existing entry there (a file or a
    symlink) is removed first, never followed."""
    try:
        fd = os.open(path, _FLAGS, FILE_MODE)
    except FileExistsError:
        os.unlink(path)  # removes a symlink itself, not what it points to
        fd = os.open(path, _FLAGS, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """`data` into `path`: written under a private temporary name, then renamed over it."""
    tmp = tmp_name(path)
    try:
        with create_private(tmp) as handle:
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def private_dir(path: Path, *, parents: bool = False) -> None:
    """A folder of ours: created 0700 when missing; refused when it is a symlink or not a folder
    (a planted `parts` link would send the part files elsewhere)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=DIR_MODE, parents=parents)
    if path.is_symlink() or not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder of its own (a symbolic link or a file)")
