"""`cartcode batch` against hostile inputs and faults, in process (issue 14): any per-file failure is
a failed row and the run goes on; every claim in is reported out; non-regular files are failed rows;
gzip bombs are bounded; resume keys inputs by content; output files are private and never written
through a symlink the run did not create."""

from __future__ import annotations

import gzip
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cartcode.batch import _run as batch
from samples import BATCH_OUTPUTS, part_b_claim


def _rows(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "claims.parquet").to_pylist()  # type: ignore[no-any-return]


def _by_file(out: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(out):
        found.setdefault(Path(row["file"]).name, []).append(row)
    return found


def _final_bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in BATCH_OUTPUTS}


def _accounted(summary: dict[str, Any], out: Path) -> None:
    rows = _rows(out)
    assert summary["claims_read"] == len(rows) == summary["checked"] + summary["failed"]
    assert len((out / "claims.csv").read_text(encoding="utf-8").splitlines()) == len(rows) + 1


# -- any per-file failure is a failed row, and the run goes on --------------------------------------
def test_a_lone_surrogate_in_a_claim_id_does_not_stop_the_batch_or_its_reruns(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    claim = json.dumps(part_b_claim("X")).replace('"X"', '"\\ud800"')  # JSON's escape of a lone surrogate
    (d / "a-surrogate.json").write_text('{"claims": [' + claim + "]}")
    (d / "b-good.json").write_text(json.dumps(part_b_claim("GOOD1")))
    out = tmp_path / "out"
    summary = batch.run([str(d)], out, progress=False)
    _accounted(summary, out)
    per_file = _by_file(out)
    assert set(per_file) == {"a-surrogate.json", "b-good.json"}
    assert per_file["b-good.json"][0]["claim_id"] == "GOOD1"
    assert per_file["a-surrogate.json"][0]["claim_id"] in (None, "\\ud800")  # never the raw surrogate
    first = _final_bytes(out)
    again = batch.run([str(d)], out, progress=False)  # the rerun used to fail on the recorded unit
    assert again == summary and _final_bytes(out) == first


def test_a_reader_that_raises_fails_its_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cartcode.formats as formats

    real = formats.read_claims

    def flaky(data: bytes | str, name: str = "<input>", **kwargs: Any) -> Any:
        if "boom" in name:
            raise RecursionError("maximum recursion depth exceeded (CANARY-PATIENT-NAME)")
        return real(data, name, **kwargs)

    monkeypatch.setattr(formats, "read_claims", flaky)
    d = tmp_path / "in"
    d.mkdir()
    (d / "a-boom.json").write_text(json.dumps(part_b_claim("B1")))
    (d / "b-good.json").write_text(json.dumps(part_b_claim("G1")))
    out = tmp_path / "out"
    summary = batch.run([str(d)], out, progress=False)
    _accounted(summary, out)
    per_file = _by_file(out)
    [boom] = per_file["a-boom.json"]
    assert boom["status"] == "failed" and "RecursionError" in boom["error"]
    assert "CANARY" not in boom["error"]  # an unexpected exception is named by type only
    assert per_file["b-good.json"][0]["status"] == "checked"


@pytest.fixture
def crashing_rule() -> Iterator[None]:
    """A rule registered for one test that raises on the claim with id BOOM. (Patching a module
    function would not reach the compiled build: mypyc-compiled modules call each other directly.)"""
    from cartcode.checker import _registry
    from cartcode.findings import Severity

    def crash(ctx: Any) -> Iterator[Any]:
        if ctx.claim.id == "BOOM":
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        return iter(())

    _registry.rule("CART999", "test-crash", severity=Severity.ERROR, sources=("astct-2025-04",))(crash)
    _registry.all_rules.cache_clear()
    try:
        yield
    finally:
        del _registry._REGISTRY["CART999"]
        _registry.all_rules.cache_clear()


def test_a_claim_the_rules_fail_on_fails_alone(tmp_path: Path, crashing_rule: None) -> None:
    path = tmp_path / "three.json"
    path.write_text(json.dumps({"claims": [part_b_claim(c, "0540T") for c in ("A", "BOOM", "C")]}))
    out = tmp_path / "out"
    summary = batch.run([str(path)], out, progress=False)
    _accounted(summary, out)
    rows = _rows(out)
    assert [(r["claim_id"], r["status"]) for r in rows] == [("A", "checked"), ("BOOM", "failed"), ("C", "checked")]
    assert "ValueError" in rows[1]["error"]


def test_an_empty_file_is_a_failed_row(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "blank.x12").write_bytes(b" \r\n\n")
    out = tmp_path / "out"
    summary = batch.run([str(tmp_path / "empty.json"), str(tmp_path / "blank.x12")], out, progress=False)
    _accounted(summary, out)
    rows = _rows(out)
    assert [(Path(r["file"]).name, r["status"]) for r in rows] == [("empty.json", "failed"), ("blank.x12", "failed")]
    assert all("empty" in r["error"] for r in rows)
    assert summary["failed"] == 2


# -- non-regular files --------------------------------------------------------------------------------
def test_fifos_and_dangling_symlinks_are_failed_rows_never_opened(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a-good.json").write_text(json.dumps(part_b_claim("G1")))
    os.mkfifo(d / "b-pipe.json")  # opening it would block forever: it must never be opened
    (d / "c-dangling.json").symlink_to(d / "nothing-here.json")
    os.mkfifo(tmp_path / "named.json")
    out = tmp_path / "out"
    summary = batch.run([str(d), str(tmp_path / "named.json")], out, progress=False)
    _accounted(summary, out)
    per_file = _by_file(out)
    assert set(per_file) == {"a-good.json", "b-pipe.json", "c-dangling.json", "named.json"}
    for name in ("b-pipe.json", "named.json"):
        [row] = per_file[name]
        assert row["status"] == "failed" and "FIFO" in row["error"] and "--allow-special-files" in row["error"]
    [dangling] = per_file["c-dangling.json"]
    assert dangling["status"] == "failed" and "dangling" in dangling["error"]


def test_a_fifo_is_read_once_when_asked(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w") as fh:
            fh.write(json.dumps({"claims": [part_b_claim("P1"), part_b_claim("P2", "0540T")]}))

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = tmp_path / "out"
    summary = batch.run([str(fifo)], out, progress=False, allow_special=True)
    writer.join(timeout=10)
    assert [(r["claim_id"], r["status"]) for r in _rows(out)] == [("P1", "checked"), ("P2", "checked")]
    assert summary["inputs"][0]["file"] == str(fifo)
    assert not [p for p in (out / "parts").iterdir() if p.name.startswith(".spool")]  # the copy is gone


# -- gzip bombs ---------------------------------------------------------------------------------------
def _bomb(path: Path, expanded_mb: int, head: bytes = b'{"claims": [', tail: bytes = b"]}") -> None:
    """A multi-member gzip: `expanded_mb` MB of JSON blanks (valid JSON) from a few KB."""
    blank = gzip.compress(b" " * (1 << 20), compresslevel=9)
    with path.open("wb") as fh:
        fh.write(gzip.compress(head))
        for _ in range(expanded_mb):
            fh.write(blank)
        fh.write(gzip.compress(tail))


def test_a_gzip_bomb_ends_in_a_failed_row_at_the_ratio_limit(tmp_path: Path) -> None:
    from cartcode.batch._inputs import Limits

    bomb = tmp_path / "bomb.json.gz"
    _bomb(bomb, 80)
    good = tmp_path / "good.json.gz"
    good.write_bytes(gzip.compress(json.dumps(part_b_claim("G1")).encode()))
    out = tmp_path / "out"
    summary = batch.run([str(bomb), str(good)], out, progress=False, limits=Limits(ratio_floor=8 << 20))
    _accounted(summary, out)
    per_file = _by_file(out)
    [row] = per_file["bomb.json.gz"]
    assert row["status"] == "failed" and "--max-decompressed-ratio" in row["error"]
    assert per_file["good.json.gz"][0]["status"] == "checked"


def test_the_decompressed_size_limit_keeps_the_claims_before_it(tmp_path: Path) -> None:
    from cartcode.batch._inputs import Limits

    lines = [json.dumps(part_b_claim(f"L{i}")) for i in range(400)]
    path = tmp_path / "many.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    limit = len("\n".join(lines[:100]).encode())
    out = tmp_path / "out"
    summary = batch.run([str(path)], out, progress=False, limits=Limits(max_decompressed_size=limit))
    _accounted(summary, out)
    rows = _rows(out)
    assert 50 < len(rows) <= 101
    assert all(r["status"] == "checked" for r in rows[:-1])
    assert rows[-1]["status"] == "failed" and "--max-decompressed-size" in rows[-1]["error"]


# -- resume by content ----------------------------------------------------------------------------------
def test_an_input_edited_in_place_is_checked_again_even_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(part_b_claim("AAAA1", "38228")))
    st = path.stat()
    out = tmp_path / "out"
    batch.run([str(path)], out, progress=False)
    assert _rows(out)[0]["claim_id"] == "AAAA1"
    path.write_text(json.dumps(part_b_claim("BBBB2", "0540T")))  # same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    summary = batch.run([str(path)], out, progress=False)
    assert _rows(out)[0]["claim_id"] == "BBBB2"
    assert summary["findings"] >= 1  # 0540T in 2025


# -- private outputs, no symlink followed -----------------------------------------------------------------
def test_output_files_are_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(part_b_claim("M1", "0540T")))
    old = os.umask(0o022)
    try:
        batch.run([str(path)], tmp_path / "out", progress=False)
    finally:
        os.umask(old)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {*BATCH_OUTPUTS, "manifest.json"}
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700


def test_nothing_is_written_through_a_planted_symlink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(part_b_claim("S1", "0540T")))
    out = tmp_path / "out"
    victims = tmp_path / "victims"
    victims.mkdir()
    real_clean = batch._clean_stale_tmp

    def clean_then_plant(directory: Path) -> None:
        # an attacker with write access to the output folder plants links under the names the run uses
        real_clean(directory)
        if directory == out:
            for name in ("manifest.json", "summary.json", "claims.csv", "claims.parquet", "findings.csv"):
                victim = victims / name
                victim.write_text("victim")
                (out / f".{name}.tmp-{os.getpid()}").symlink_to(victim)
            (victims / "final").write_text("victim")
            (out / "claims.csv").symlink_to(victims / "final")

    monkeypatch.setattr(batch, "_clean_stale_tmp", clean_then_plant)
    batch.run([str(path)], out, progress=False)
    assert all(v.read_text() == "victim" for v in victims.iterdir())
    assert not (out / "claims.csv").is_symlink() and (out / "claims.csv").read_text().startswith('"file"')


def test_a_planted_parts_link_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(part_b_claim("S1")))
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "parts").symlink_to(elsewhere)
    with pytest.raises(NotADirectoryError):
        batch.run([str(path)], out, progress=False)
    assert list(elsewhere.iterdir()) == []
