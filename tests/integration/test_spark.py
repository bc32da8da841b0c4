"""PySpark local mode gives the same rows as the single-machine batch on the same mixed input."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pyspark  # noqa: F401  # the [spark] extra (setup.sh --test): missing -> fail, never skip
import pytest

from cartcode.batch import _run as batch

ROOT = Path(__file__).resolve().parents[2]
from shared_data import SHARED  # noqa: E402

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import synth837  # noqa: E402

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
FINAL = ("claims.parquet", "claims.csv", "findings.parquet", "findings.csv")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("spark-in")
    # several interchanges, so the spark rows are pieces of the file with their counters
    (d / "a.837").write_bytes(b"".join(synth837.generate(900, cart_fraction=0.03, claims_per_st=150, st_per_isa=2)))
    with gzip.open(d / "b.837.gz", "wb") as fh:
        fh.write(b"".join(synth837.generate(300, cart_fraction=0.05, seed=5)))
    for name in ("imsweb-x12_missing_elements.txt", "imsweb-x12_bad_segment_identifier.txt"):
        (d / name).write_bytes((SHARED / "x12" / "malformed" / name).read_bytes())
    claims = [
        {"id": "J1", "kind": "professional", "place_of_service": "22", "payer": "medicare",
         "lines": [{"code": "0540T", "units": 1, "charge": 5000, "date": "2025-03-10"}]},
        {"id": "broken", "kind": "nope"},
    ]
    (d / "c.json").write_text(json.dumps({"claims": claims}))
    (d / "d.jsonl").write_text("\n".join(json.dumps(c) for c in claims) + "\n{oops\n")
    return d


@pytest.mark.timeout(600)
def test_spark_local_mode_equals_the_local_batch(mixed: Path, tmp_path: Path) -> None:
    local = batch.run([str(mixed)], tmp_path / "local", progress=False)
    spark = batch.run([str(mixed)], tmp_path / "spark", engine="spark", master="local[2]", progress=False)
    assert spark == local
    for name in FINAL:
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert local["claims_read"] == 900 + 300 + 2 + 2 + 2 + 3 and local["failed"] >= 3


@pytest.mark.timeout(600)
def test_check_dataframe_rows_equal_batch_rows(mixed: Path, tmp_path: Path) -> None:
    from pyspark.sql import SparkSession

    from cartcode.batch.spark import check_dataframe

    path = mixed / "c.json"
    batch.run([str(path)], tmp_path / "local", progress=False)
    spark = SparkSession.builder.master("local[1]").appName("cartcode-test").getOrCreate()
    try:
        df = spark.createDataFrame([(str(path), path.read_bytes())], ["file", "content"])
        findings = [r.asDict() for r in check_dataframe(df).collect()]
        claims = [r.asDict() for r in check_dataframe(df, table="claims").collect()]
    finally:
        spark.stop()
    assert findings == pq.read_table(tmp_path / "local" / "findings.parquet").to_pylist()
    assert claims == pq.read_table(tmp_path / "local" / "claims.parquet").to_pylist()
    assert len(claims) == 2 and findings
