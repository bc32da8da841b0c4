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


@pytest.mark.timeout(600)
def test_spark_groups_inpatient_claims_and_honours_no_grouping(tmp_path: Path) -> None:
    """Grouping on: every inpatient claim is grouped, CAR-T (CAR1) or not (HF1, HF2), as by the local
    engine; --no-grouping reaches the workers: no grouping columns, no grouping rule (CART9xx)."""
    from inpatient_837i import CAR_T, HEART_FAILURE, OUTPATIENT, STENT, x12

    src = tmp_path / "in"
    src.mkdir()
    (src / "ip.x12").write_bytes(x12([CAR_T, OUTPATIENT, HEART_FAILURE, STENT]))
    for grouping in (True, False):
        local = batch.run([str(src)], tmp_path / f"local-{grouping}", progress=False, grouping=grouping)
        spark = batch.run([str(src)], tmp_path / f"spark-{grouping}", engine="spark", master="local[1]",
                          progress=False, grouping=grouping)
        assert spark == local
        out = tmp_path / f"spark-{grouping}"
        for name in FINAL:
            assert (out / name).read_bytes() == (tmp_path / f"local-{grouping}" / name).read_bytes(), name
        claims = {r["claim_id"]: r for r in pq.read_table(out / "claims.parquet").to_pylist()}
        findings = pq.read_table(out / "findings.parquet").to_pylist()
        grouped = {k for k, r in claims.items() if r["drg"] is not None and r["drg_version"]}
        if grouping:
            assert grouped == {"CAR1", "HF1", "HF2"}
            assert (claims["CAR1"]["drg"], claims["HF1"]["drg"], claims["HF2"]["drg"]) == ("018", "293", "322")
        else:
            assert grouped == set() and all(r["grouping_status"] is None for r in claims.values())
            assert not [f for f in findings if f["rule"].startswith("CART90")]
            assert claims["CAR1"]["finding_count"] == len([f for f in findings if f["claim_id"] == "CAR1"])
