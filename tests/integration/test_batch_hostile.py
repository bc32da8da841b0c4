"""`cartcode batch` on the command line against hostile inputs and faults (issue 14): no traceback,
no lost claim, bounded memory for gzip bombs, workers that die with their parent."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from samples import BATCH_OUTPUTS, part_b_claim

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cartcode", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, check=False)


def test_hostile_files_are_failed_rows_and_the_batch_goes_on(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a-good.json").write_text(json.dumps({"claims": [part_b_claim("G1"), part_b_claim("G2", "0540T")]}))
    (d / "b-deep.json").write_text("[" * 100_000 + "]" * 100_000)  # RecursionError in json
    (d / "c-surrogate.json").write_text(json.dumps(part_b_claim("X")).replace('"X"', '"\\ud800"'))
    (d / "d-empty.json").write_bytes(b"")
    (d / "e-bigint.json").write_text(json.dumps(part_b_claim("N1")).replace('"units": 1', '"units": ' + "9" * 5000))
    (d / "f-garbage.txt").write_text("not a claim file\n")
    (d / "g-good.x12").write_bytes((ROOT / "examples" / "x12").glob("*.x12").__next__().read_bytes())
    out = tmp_path / "out"
    first = _cli("batch", str(d), "--out", str(out))
    assert first.returncode == 1, first.stderr  # failed claims, no crash
    assert "Traceback" not in first.stderr
    rows = pq.read_table(out / "claims.parquet").to_pylist()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["claims_read"] == len(rows) == summary["checked"] + summary["failed"]
    names = {Path(r["file"]).name for r in rows}
    assert names == {p.name for p in d.iterdir()}  # every file in is reported out
    for name in ("b-deep.json", "d-empty.json", "f-garbage.txt"):
        assert [r["status"] for r in rows if Path(r["file"]).name == name] == ["failed"], name
    assert [r["claim_id"] for r in rows if r["file"].endswith("a-good.json")] == ["G1", "G2"]
    before = {name: (out / name).read_bytes() for name in BATCH_OUTPUTS}
    again = _cli("batch", str(d), "--out", str(out))  # the rerun used to fail again, forever
    assert again.returncode == 1 and "Traceback" not in again.stderr, again.stderr
    assert {name: (out / name).read_bytes() for name in BATCH_OUTPUTS} == before


_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stderr.write(done.stderr)\n"
)


def test_a_gzip_bomb_is_bounded_in_memory(tmp_path: Path) -> None:
    """1 MB of gzip that expands to 1 GB of JSON took 2-7 GB of RSS; now it stops at the ratio limit."""
    bomb = tmp_path / "bomb.json.gz"
    blank = gzip.compress(b" " * (1 << 20), compresslevel=9)
    with bomb.open("wb") as fh:
        fh.write(gzip.compress(b'{"claims": ['))
        for _ in range(1024):
            fh.write(blank)
        fh.write(gzip.compress(b"]}"))
    assert bomb.stat().st_size < 2 << 20
    good = tmp_path / "good.json"
    good.write_text(json.dumps(part_b_claim("G1")))
    out = tmp_path / "out"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, sys.executable, "-m", "cartcode", "batch", str(bomb),
                           str(good), "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    code, max_rss_kb = (int(v) for v in done.stdout.split())
    assert code == 1, done.stderr
    assert max_rss_kb < 400 * 1024, f"peak RSS {max_rss_kb // 1024} MB"
    assert time.monotonic() - started < 60
    rows = pq.read_table(out / "claims.parquet").to_pylist()
    assert [(Path(r["file"]).name, r["status"]) for r in rows] == [("bomb.json.gz", "failed"), ("good.json", "checked")]
    assert "--max-decompressed-ratio" in rows[0]["error"]
    # the limits are options: a higher ratio with a size limit under 1 GB stops it at the size instead
    capped = _cli("batch", str(bomb), "--out", str(tmp_path / "o2"), "--max-decompressed-ratio", "100000",
                  "--max-decompressed-size", "100M")
    assert capped.returncode == 1, capped.stderr
    [row] = pq.read_table(tmp_path / "o2" / "claims.parquet").to_pylist()
    assert "--max-decompressed-size" in row["error"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    for i in range(60):  # many small units: the old workers finished theirs, then slept forever
        claims = [part_b_claim(f"C{i}-{j}", "0540T") for j in range(300)]
        (d / f"f{i:02d}.json").write_text(json.dumps({"claims": claims}))
    proc = subprocess.Popen([sys.executable, "-m", "cartcode", "batch", str(d), "--out", str(tmp_path / "out"),
                             "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the workers never started"
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "workers outlived their parent"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
