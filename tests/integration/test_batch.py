"""`cartcode batch`: every claim accounted for, resumable after a kill, the same output whatever
the split (--jobs, big-file ranges), and the same results as `check`."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cartcode.batch import _run as batch
from cartcode.checker._engine import check_results
from cartcode.findings import Finding

ROOT = Path(__file__).resolve().parents[2]
from shared_data import SHARED  # noqa: E402

if str(ROOT) not in sys.path:  # bench/ holds the synthetic batch generator
    sys.path.insert(0, str(ROOT))

from bench import synth837  # noqa: E402

FINAL = ("claims.parquet", "claims.csv", "findings.parquet", "findings.csv", "summary.json")


def _claim(i: int, code: str = "38228") -> dict[str, object]:
    return {
        "id": f"J{i}", "kind": "professional", "place_of_service": "22", "payer": "medicare", "medicare_part": "B",
        "diagnoses": [{"code": "C83.38", "kind": "principal"}],
        "lines": [{"code": code, "units": 1, "charge": 5000, "date": "2025-03-10"}],
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A mixed folder: shared 837s (malformed ones too), our JSON with a broken claim, JSONL with
    a broken line, a gzip 837, a file that is no claim format at all. Returns the folder and
    the number of claims each file holds (counted independently of the readers)."""
    d = tmp_path_factory.mktemp("in")
    counts: dict[str, int] = {}
    for p in sorted((SHARED / "x12").glob("*/*")):
        if p.parent.name in ("professional", "institutional", "malformed"):
            target = d / f"{p.parent.name}-{p.name}"
            shutil.copy(p, target)
            counts[target.name] = p.read_bytes().count(b"CLM*")
    claims: list[object] = [_claim(0), {"id": "broken", "kind": "nonsense"}, _claim(2, "0540T"), 42]
    (d / "ours.json").write_text(json.dumps({"claims": claims}))
    counts["ours.json"] = len(claims)
    lines = [json.dumps(_claim(10)), "{not json", json.dumps(_claim(12, "0540T")), json.dumps({"id": "x"})]
    (d / "ours.jsonl").write_text("\n".join(lines) + "\n")
    counts["ours.jsonl"] = len(lines)
    with gzip.open(d / "synthetic.837.gz", "wb") as fh:
        fh.write(b"".join(synth837.generate(3000, cart_fraction=0.02, claims_per_st=700, st_per_isa=2)))
    counts["synthetic.837.gz"] = 3000
    eobs = [json.dumps(json.loads(p.read_text())) for p in sorted((SHARED / "fhir").glob("*.json"))]
    (d / "eobs.ndjson").write_text("\n".join(eobs) + "\n")  # FHIR NDJSON: one EOB per line
    counts["eobs.ndjson"] = len(eobs)
    whole = gzip.compress(b"".join(synth837.generate(400, cart_fraction=0.05)))
    (d / "truncated.837.gz").write_bytes(whole[: len(whole) // 2])  # a copy cut off mid-stream
    readable = b""
    with gzip.open(d / "truncated.837.gz", "rb") as fh:
        try:
            while piece := fh.read(8192):  # batch reads in 8 KB pieces: what it can get before the damage
                readable += piece
        except EOFError:
            pass
    counts["truncated.837.gz"] = readable.count(b"CLM*") + 1  # the claims before the damage, then one failed row
    (d / "garbage.txt").write_text("this is not a claim file\n")
    counts["garbage.txt"] = 1  # one failed row naming the problem
    return {"dir": d, "counts": counts}


def _claims_rows(out: Path) -> list[dict[str, object]]:
    return pq.read_table(out / "claims.parquet").to_pylist()  # type: ignore[no-any-return]


def test_every_claim_in_is_accounted_for(inputs: dict[str, object], tmp_path: Path) -> None:
    folder, counts = inputs["dir"], inputs["counts"]
    assert isinstance(folder, Path) and isinstance(counts, dict)
    summary = batch.run([str(folder)], tmp_path / "out", progress=False)
    rows = _claims_rows(tmp_path / "out")
    per_file: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        per_file.setdefault(Path(str(row["file"])).name, []).append(row)
    assert {name: len(r) for name, r in per_file.items()} == counts
    for name, file_rows in per_file.items():
        assert [r["claim_index"] for r in file_rows] == list(range(len(file_rows))), name
        for r in file_rows:
            assert (r["status"] == "failed") == (r["error"] is not None), r
    assert summary["claims_read"] == sum(counts.values()) == summary["checked"] + summary["failed"]
    failed = {(Path(str(r["file"])).name, r["claim_index"]) for r in rows if r["status"] == "failed"}
    assert {("ours.json", 1), ("ours.json", 3), ("ours.jsonl", 1), ("ours.jsonl", 3), ("garbage.txt", 0)} <= failed
    truncated = [r for r in rows if str(r["file"]).endswith("truncated.837.gz")]
    assert truncated[-1]["status"] == "failed" and "cannot read" in str(truncated[-1]["error"])
    jsonl_error = next(r["error"] for r in rows if r["file"].endswith("ours.jsonl") and r["claim_index"] == 1)
    assert "line 2" in str(jsonl_error)
    findings = pq.read_table(tmp_path / "out" / "findings.parquet").to_pylist()
    assert summary["findings"] == len(findings) == sum(int(str(r["finding_count"])) for r in rows)
    assert {"CART101"} <= {f["rule"] for f in findings}  # 0540T in 2025
    for f in findings:
        json.loads(f["location"])
        json.loads(f["codes"])
        json.loads(f["sources"])
        assert f["kb_edition"] == summary["kb"]["edition"]
    csv_lines = (tmp_path / "out" / "claims.csv").read_text().splitlines()
    assert len(csv_lines) == len(rows) + 1


def test_results_match_check_on_the_same_input(tmp_path: Path) -> None:
    data = b"".join(synth837.generate(700, cart_fraction=0.05, claims_per_st=300))
    path = tmp_path / "b.837"
    path.write_bytes(data)
    fast = [r.to_json() for r in batch.check_results_fast(path, "b.837")]
    slow = [r.to_json() for r in check_results(data, filename="b.837")]
    assert fast == slow
    assert sum(1 for r in fast if r["findings"]) >= 10  # the wrongly coded CAR-T claims


def _final_bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in FINAL}


def _run_cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=ROOT, check=False)


def _kill_after_recorded(args: list[str], out: Path, units: int, timeout: float = 120.0) -> int:
    """Start `cartcode batch ARGS` and SIGKILL it from outside (a power cut) once its manifest
    records at least `units` units; returns how many the manifest held when it was killed."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "cartcode", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                recorded = len(json.loads((out / "manifest.json").read_text())["units"])
            except (OSError, ValueError, KeyError):
                recorded = 0
            if recorded >= units:
                os.kill(proc.pid, signal.SIGKILL)
                assert proc.wait(timeout=30) == -signal.SIGKILL
                return len(json.loads((out / "manifest.json").read_text())["units"])
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.005)
        raise AssertionError(f"fewer than {units} units recorded within {timeout:.0f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_killed_run_resumes_to_the_same_output(inputs: dict[str, object], tmp_path: Path) -> None:
    folder = inputs["dir"]
    assert isinstance(folder, Path)
    whole = tmp_path / "whole"
    first = _run_cli(["batch", str(folder), "--out", str(whole)])
    assert first.returncode in (0, 1), first.stderr
    total = len(json.loads((whole / "manifest.json").read_text())["units"])
    resumed = tmp_path / "resumed"
    recorded = _kill_after_recorded(["batch", str(folder), "--out", str(resumed)], resumed, 2)
    assert 2 <= recorded < total
    manifest = json.loads((resumed / "manifest.json").read_text())
    assert not any((resumed / name).exists() for name in FINAL)
    visible = {p.name for p in (resumed / "parts").iterdir() if not p.name.startswith(".")}
    for key in manifest["units"]:  # rows and stats of each recorded unit; nothing visible is half-written
        assert {f"{key}.rows", f"{key}.json"} <= visible
    assert len(visible) <= 2 * recorded + 2  # at most the unit in flight beyond the recorded ones
    before = {p.name: p.stat().st_mtime_ns for p in (resumed / "parts").iterdir() if p.name[:-5] in manifest["units"]}
    again = _run_cli(["batch", str(folder), "--out", str(resumed)])
    assert again.returncode == first.returncode, again.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (resumed / "parts").iterdir()}
    assert all(after[name] == mtime for name, mtime in before.items())  # completed units were skipped
    assert _final_bytes(resumed) == _final_bytes(whole)


def test_the_crash_hook_is_gone() -> None:
    # the resume test kills the run from outside: no test-only kill switch ships in the package
    assert not hasattr(batch, "CRASH_ENV")
    assert "CRASH_AFTER" not in Path(batch.__file__).read_text(encoding="utf-8")


def test_split_runs_give_the_same_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.837"
    big.write_bytes(b"".join(synth837.generate(4000, cart_fraction=0.02, claims_per_st=400, st_per_isa=1)))
    small = tmp_path / "small.json"
    small.write_text(json.dumps(_claim(1, "0540T")))
    inputs = [str(big), str(small)]
    batch.run(inputs, tmp_path / "one", progress=False)
    monkeypatch.setattr(batch, "RANGE_BYTES", big.stat().st_size // 5)
    units = batch.plan(batch.expand(inputs), jobs=1)
    assert len(units) >= 5 and all(u.rng is not None for u in units[:-1])
    batch.run(inputs, tmp_path / "ranges", progress=False)
    batch.run(inputs, tmp_path / "jobs", jobs=2, progress=False)
    monkeypatch.setattr(batch, "IN_PROCESS_MERGE_ROWS", 0)  # the merge in its own process
    batch.run(inputs, tmp_path / "merged-apart", progress=False)
    expected = _final_bytes(tmp_path / "one")
    assert _final_bytes(tmp_path / "ranges") == expected
    assert _final_bytes(tmp_path / "jobs") == expected
    assert _final_bytes(tmp_path / "merged-apart") == expected


def test_the_fix_memo_key_covers_every_field_of_fix() -> None:
    import dataclasses

    from cartcode.batch._rows import FIX_FIELDS
    from cartcode.findings import Fix

    assert tuple(f.name for f in dataclasses.fields(Fix)) == FIX_FIELDS


def test_the_merge_process_never_imports_pandas() -> None:
    # pyarrow would import pandas (50 MB) on its first pa.array call; the merge process blocks it
    code = (
        "import sys\n"
        "import cartcode.batch._merge as b\n"
        "sys.meta_path.insert(0, b._NoPandas())\n"
        "cols = [['f'], [1], ['c'], ['checked'], [None], [0]]\n"
        "cols += [[None]] * (len(b.CLAIMS_SCHEMA) - len(cols))  # the grouping columns\n"
        "t = b.table(cols, b.CLAIMS_SCHEMA)\n"
        "print(t.num_rows, 'pandas' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["1", "False"]


def test_cli_exit_codes_and_summary(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_claim(1, "0540T")))
    result = _run_cli(["batch", str(bad), "--out", str(tmp_path / "o")])
    assert result.returncode == 1, result.stderr  # 0540T in 2025 is an error-level finding
    assert "1 claims read" in result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["claims_read"] == 1 and summary["findings_by_severity"]["error"] >= 1
    assert summary["inputs"][0]["file"] == str(bad)
    missing = _run_cli(["batch", str(tmp_path / "nope*.837"), "--out", str(tmp_path / "o2")])
    assert missing.returncode == 2 and "matches no file" in missing.stderr and "Traceback" not in missing.stderr


def reference_row(file: str, index: int, claim_id: str | None, finding: Finding, edition: str) -> dict[str, Any]:
    """A findings row through the contract's own serialisation (Finding.to_json)."""

    def dumps(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    data = finding.to_json()
    return {
        "file": file,
        "claim_index": index,
        "claim_id": claim_id,
        "status": "checked",
        "rule": data["rule"],
        "name": data["name"],
        "severity": data["severity"],
        "message": data["message"],
        "location": dumps(data.get("location") or {}),
        "codes": dumps(data.get("codes") or []),
        "fix": dumps(data["fix"]) if data.get("fix") is not None else None,
        "sources": dumps(data.get("sources") or []),
        "kb_edition": edition,
    }


def test_findings_rows_serialise_as_the_contract_does() -> None:
    from cartcode.batch._rows import finding_row

    data = b"".join(synth837.generate(300, cart_fraction=0.1))
    findings = [f for r in check_results(data, filename="s.837") for f in r.findings]
    json_claims = json.loads((ROOT / "examples" / "claims" / "inpatient-mistakes.json").read_text())
    findings += [f for r in check_results(json.dumps(json_claims), filename="i.json") for f in r.findings]
    assert len(findings) > 20 and any(f.fix is not None for f in findings)
    # a file name JSON has to escape (quote, backslash, control and non-ASCII characters)
    odd = 'dír "q"\\x\t\u2028.837'
    findings += [f for r in check_results(data, filename=odd) for f in r.findings]
    assert any(f.location.get("file") == odd for f in findings)
    for f in findings:
        assert finding_row("f", 1, "c", f, "e") == reference_row("f", 1, "c", f, "e")


def test_an_output_folder_inside_the_input_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_claim(1)))
    first = batch.run([str(tmp_path)], tmp_path / "out", progress=False)
    again = batch.run([str(tmp_path)], tmp_path / "out", progress=False)
    assert first == again and first["claims_read"] == 1
