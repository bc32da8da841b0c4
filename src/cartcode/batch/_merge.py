"""The Arrow side of batch: the two tables' schemas and the merge of part files into the final
Parquet and CSV files.

`cartcode batch` runs the merge as ``python -m cartcode.batch._merge`` in a process of its own
(plan on stdin): pyarrow alone costs about 90 MB of resident memory, the checking process does
not need it, and the merge does not need the rules, so neither process holds both.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import types
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cartcode.batch._files import create_private, tmp_name
from cartcode.batch._rows import CLAIMS_COLUMNS, FINDINGS_COLUMNS, load_chunks

_TYPES = {"string": pa.string(), "int64": pa.int64(), "bool": pa.bool_()}


def _schema(columns: Sequence[tuple[str, str, bool]]) -> pa.Schema:
    return pa.schema([pa.field(name, _TYPES[kind], nullable=nullable) for name, kind, nullable in columns])


FINDINGS_SCHEMA = _schema(FINDINGS_COLUMNS)
CLAIMS_SCHEMA = _schema(CLAIMS_COLUMNS)
ROW_GROUP = 16_384  # rows per Parquet row group in the final files, whatever the parts' sizes


def _array(col: list[Any], kind: pa.DataType) -> pa.Array:
    """``pa.array(col, kind)``; a column of one repeated value (the file, "checked", no error in
    a batch of cleared claims) is built without converting every element (same array)."""
    n = len(col)
    if n > 1:
        first = col[0]
        if first is None:
            if col.count(None) == n:
                return pa.nulls(n, kind)
        elif type(first) is str and col.count(first) == n:
            try:
                return pa.repeat(pa.scalar(first, kind), n)
            except UnicodeEncodeError:
                return pa.repeat(pa.scalar(_utf8(first), kind), n)
    try:
        return pa.array(col, kind)
    except UnicodeEncodeError:
        # a lone surrogate (a claim id "\ud800" read from JSON, a file name that is not UTF-8):
        # written as its escape, so one odd value never stops the merge of a whole batch
        return pa.array([_utf8(v) if type(v) is str else v for v in col], kind)


def _utf8(value: str) -> str:
    """`value` as valid UTF-8: what cannot be encoded (lone surrogates) becomes a backslash escape."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def table(lists: Sequence[list[Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays([_array(col, f.type) for col, f in zip(lists, schema, strict=True)], schema=schema)


def _tmp(path: Path) -> Path:
    return tmp_name(path)


class _TableWriter:
    """NAME.parquet and NAME.csv, fed column lists, written in row groups of exactly ROW_GROUP
    rows so the files are the same bytes however the input was split."""

    def __init__(self, out: Path, name: str, schema: pa.Schema) -> None:
        self.paths = (out / f"{name}.parquet", out / f"{name}.csv")
        self.tmps = tuple(_tmp(p) for p in self.paths)
        self.schema = schema
        # created 0600 by us, never through a symlink (cartcode.batch._files), then handed to pyarrow
        self.handles = tuple(create_private(tmp) for tmp in self.tmps)
        self.pw = pq.ParquetWriter(self.handles[0], schema)
        self.cw = pacsv.CSVWriter(self.handles[1], schema)
        self.pending: list[list[Any]] = [[] for _ in schema]
        self.index_col = schema.get_field_index("claim_index")

    def add(self, lists: Sequence[list[Any]], base: int) -> None:
        for i, col in enumerate(lists):
            self.pending[i].extend([v + base for v in col] if base and i == self.index_col else col)
        while len(self.pending[0]) >= ROW_GROUP:
            self._write([col[:ROW_GROUP] for col in self.pending])
            self.pending = [col[ROW_GROUP:] for col in self.pending]

    def _write(self, lists: Sequence[list[Any]]) -> None:
        t = table(lists, self.schema)
        self.pw.write_table(t, row_group_size=ROW_GROUP)
        self.cw.write_table(t)

    def close(self) -> None:
        if self.pending[0]:
            self._write(self.pending)
        self.pw.close()
        self.cw.close()
        for handle in self.handles:
            handle.close()
        for tmp, path in zip(self.tmps, self.paths, strict=True):
            os.replace(tmp, path)

    def abort(self) -> None:
        for handle in self.handles:
            handle.close()
        for tmp in self.tmps:
            tmp.unlink(missing_ok=True)


def merge_parts(out: Path, sources: Iterable[tuple[str, int]]) -> None:
    """Concatenate part files (path, claim-index shift) into the final four files."""
    claims = _TableWriter(out, "claims", CLAIMS_SCHEMA)
    findings = _TableWriter(out, "findings", FINDINGS_SCHEMA)
    try:
        for path, base in sources:
            with open(path, "rb") as handle:
                for chunk in load_chunks(handle):
                    claims.add(chunk["claims"], base)
                    if chunk["findings"] and chunk["findings"][0]:
                        findings.add(chunk["findings"], base)
    except BaseException:
        claims.abort()
        findings.abort()
        raise
    claims.close()
    findings.close()


class _NoPandas(importlib.abc.MetaPathFinder):
    """Makes pandas unimportable. pyarrow imports pandas on its first ``pa.array`` call (to ask
    whether a list is pandas-like) when pandas is installed (the [spark] extra installs it): in
    the merge process that is 50 MB of resident memory and 0.4 s for nothing."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (not used by the merge)", name=fullname)
        return None


def main() -> None:
    # only in this process of its own: a caller of merge_parts may well use pandas
    sys.meta_path.insert(0, _NoPandas())
    plan = json.load(sys.stdin)
    merge_parts(Path(plan["out"]), [(p, int(b)) for p, b in plan["sources"]])


if __name__ == "__main__":
    main()
