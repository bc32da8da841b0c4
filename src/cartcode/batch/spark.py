"""PySpark: check claims on a cluster with the same code and the same output schema as batch.

Input: a DataFrame with a ``file`` (string) and a ``content`` (binary or string) column, one row
per file (837, our JSON/JSONL, FHIR), per X12 interchange, or per JSON claim. Optional columns
make a row's results identical to a whole-file read: ``index_base`` (added to claim indexes) and,
for a piece of an X12 file, ``offset_base``, ``segment_base`` and ``line_base`` (the byte offset,
segment ordinal and line of the piece's first byte; :func:`file_rows` fills them in).

    from cartcode.batch.spark import check_dataframe
    df = spark.read.format("binaryFile").load("s3://bucket/837/*.x12")   # path, content, ...
    findings = check_dataframe(df.withColumnRenamed("path", "file"))      # batch's findings schema
    claims = check_dataframe(df.withColumnRenamed("path", "file"), table="claims")

Each partition is checked by :mod:`cartcode.batch._check` inside ``mapInArrow`` (the KB and the
pre-filter are loaded once per Python worker), so the findings rows are the same as
``cartcode batch`` writes. ``cartcode batch --engine spark [--master URL]`` runs the whole batch
this way and writes the same files as the local engine. ``grouping=False`` (``--no-grouping``)
checks without MS-DRG grouping, as the local engine does: empty grouping columns, grouping rules
silent; with grouping on, every inpatient claim is read in full and grouped.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from cartcode.batch._merge import CLAIMS_SCHEMA, FINDINGS_SCHEMA, table
from cartcode.batch._rows import Columns

if TYPE_CHECKING:  # pragma: no cover
    from cartcode.batch._inputs import InputFile

Table = Literal["findings", "claims"]
_OPTIONAL_INTS = ("index_base", "offset_base", "segment_base", "line_base")
# one output schema for both tables: which table, which input row, then both tables' columns
_WIDE = pa.schema(
    [pa.field("table", pa.string()), pa.field("row", pa.int64())]
    + [pa.field(f.name, f.type) for f in FINDINGS_SCHEMA]
    + [pa.field(f.name, f.type) for f in CLAIMS_SCHEMA if f.name not in FINDINGS_SCHEMA.names]
)


def _columns_for_row(row: dict[str, Any], grouping: bool = True) -> Iterator[Columns]:
    """One input row's columns, checked with MS-DRG grouping on or off (GROUPING, set for them alone)."""
    from cartcode.batch._check import with_grouping

    yield from with_grouping(_row_columns(row, grouping), grouping)


def _row_columns(row: dict[str, Any], grouping: bool) -> Iterator[Columns]:
    from cartcode.batch._check import check_bytes, x12_columns, x12_prefilter
    from cartcode.batch._inputs import sniff_bytes
    from cartcode.formats.x12._stream import Range
    from cartcode.kb.loader import load_kb

    kb = load_kb()
    pattern = x12_prefilter(grouping)  # grouping on: every inpatient claim is read in full
    content = row["content"]
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    label = str(row["file"])
    index_base = int(row.get("index_base") or 0)
    segment = row.get("segment_base")
    if segment is not None and sniff_bytes(data[:65536]) == "x12":
        start = int(row.get("offset_base") or 0)
        rng = Range(start, start + len(data), int(segment), int(row.get("line_base") or 1))
        yield from x12_columns(io.BytesIO(data), label, kb, pattern, rng=rng, index_base=index_base)
        return
    for cols in check_bytes(data, label, kb, pattern):
        if index_base:
            cols.index = [i + index_base for i in cols.index]
            for f in cols.findings:
                f["claim_index"] += index_base
        yield cols


def _wide(rows: pa.Table, name: str, row: int) -> pa.RecordBatch:
    n = rows.num_rows
    arrays = []
    for f in _WIDE:
        if f.name == "table":
            arrays.append(pa.array([name] * n, pa.string()))
        elif f.name == "row":
            arrays.append(pa.array([row] * n, pa.int64()))
        elif f.name in rows.column_names:
            arrays.append(rows.column(f.name).combine_chunks().cast(f.type))
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=_WIDE)


def check_arrow_batches(batches: Iterator[pa.RecordBatch], grouping: bool = True) -> Iterator[pa.RecordBatch]:
    """The mapInArrow function: input rows in, both tables' rows out (see ``_WIDE``); with
    `grouping` off, no MS-DRG grouping (bind it with functools.partial, as check_dataframe does)."""
    for batch in batches:
        names = batch.schema.names
        rows = batch.to_pylist()
        for position, row in enumerate(rows):
            ordinal = int(row["row"]) if "row" in names and row["row"] is not None else position
            for cols in _columns_for_row(row, grouping):
                yield _wide(table(cols.claims_lists(), CLAIMS_SCHEMA), "claims", ordinal)
                if cols.findings:
                    yield _wide(table(cols.findings_lists(), FINDINGS_SCHEMA), "findings", ordinal)


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def check_dataframe(df: Any, table: Table = "findings", *, grouping: bool = True) -> Any:
    """The findings (or claims) of every row of `df` as a DataFrame with batch's columns;
    `grouping=False` as ``batch --no-grouping``."""
    from pyspark.sql import functions as F

    wide = df.mapInArrow(functools.partial(check_arrow_batches, grouping=grouping), _spark_schema(_WIDE))
    schema = FINDINGS_SCHEMA if table == "findings" else CLAIMS_SCHEMA
    return wide.where(F.col("table") == table).select(*schema.names)


# -- cartcode batch --engine spark -----------------------------------------------------------------
def file_rows(files: Sequence[InputFile]) -> list[dict[str, Any]]:
    """Rows for :func:`check_dataframe` from local files: one per file, or one per interchange of
    a plain X12 file (with the counters that make its results identical to a whole-file read)."""
    from cartcode.batch._inputs import read_all, sniff
    from cartcode.formats._gzip import is_gzip
    from cartcode.formats.x12._stream import plan_ranges

    rows: list[dict[str, Any]] = []
    for f in files:
        if sniff(f.path) == "x12" and not is_gzip(f.path):
            with f.path.open("rb") as fh:
                ranges = plan_ranges(fh, f.size, max(1, f.size))  # every interchange
            with f.path.open("rb") as fh:
                for part, r in enumerate(ranges):
                    fh.seek(r.start)
                    rows.append({"file": f.label, "content": fh.read(r.end - r.start), "offset_base": r.start,
                                 "segment_base": r.segment, "line_base": r.line, "input": f, "part": part})
            continue
        rows.append({"file": f.label, "content": read_all(f.path), "offset_base": None, "segment_base": None,
                     "line_base": None, "input": f, "part": 0})
    return rows


def run_batch(files: Sequence[InputFile], out: Path, *, master: str | None, kb_stamp: dict[str, str],
              grouping: bool = True) -> dict[str, Any]:
    """`cartcode batch --engine spark`: the rows go through Spark; the results are written with
    batch's own part files and merge, so the final files equal the local engine's (grouping on or
    off alike: `grouping` goes to every worker with the function it runs)."""
    import os
    import sys

    import pyarrow.compute as pc

    from cartcode.batch._inputs import sniff
    from cartcode.batch._run import Unit, merge, write_part

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the extra
        from cartcode.errors import InputError

        raise InputError("--engine spark needs PySpark: pip install 'cartcode[spark]'", where="--engine") from exc
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # local mode: the Python workers must be this interpreter (with cartcode), not `python3` on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    rows = file_rows(files)
    spark = SparkSession.builder.master(master or "local[*]").appName("cartcode batch").getOrCreate()
    try:
        input_schema = pa.schema([("row", pa.int64()), ("file", pa.string()), ("content", pa.binary()),
                                  ("offset_base", pa.int64()), ("segment_base", pa.int64()), ("line_base", pa.int64())])
        table = pa.Table.from_pylist(
            [{k: r[k] for k in input_schema.names if k != "row"} | {"row": i} for i, r in enumerate(rows)],
            schema=input_schema,
        )
        n_parts = max(1, min(len(rows), spark.sparkContext.defaultParallelism * 4))
        df = spark.createDataFrame(table).repartition(n_parts)
        check = functools.partial(check_arrow_batches, grouping=grouping)
        wide = df.mapInArrow(check, _spark_schema(_WIDE)).toArrow()
    finally:
        spark.stop()
    units: list[Unit] = []
    records: dict[str, dict[str, Any]] = {}
    kinds: dict[Path, Any] = {}
    for i, r in enumerate(rows):
        f = r["input"]
        kind = kinds.setdefault(f.path, sniff(f.path))
        unit = Unit(f, kind, part=r["part"], rng=None)
        mine = wide.filter(pc.equal(wide.column("row"), i))
        claims = _narrow(mine, "claims", CLAIMS_SCHEMA)
        findings = _narrow(mine, "findings", FINDINGS_SCHEMA)
        cols = Columns()
        cols.set_claims_lists([claims.column(name).to_pylist() for name in CLAIMS_SCHEMA.names])
        cols.findings = findings.to_pylist()
        records[unit.key] = write_part(out / "parts", unit, [cols])
        units.append(unit)
    return merge(out, units, records, kb_stamp, engine="spark")


def _narrow(wide: pa.Table, name: str, schema: pa.Schema) -> pa.Table:
    import pyarrow.compute as pc

    rows = wide.filter(pc.equal(wide.column("table"), name))
    rows = rows.sort_by([("claim_index", "ascending")]) if name == "claims" else rows
    return pa.Table.from_arrays([rows.column(f.name).cast(f.type) for f in schema], schema=schema)
