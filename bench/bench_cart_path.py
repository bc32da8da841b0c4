"""The CAR-T claim path, piece by piece (a script, not a test).

    .venv/bin/python bench/bench_cart_path.py [--claims 20000] [--repeat 3] [--profile read|check|batch]

Builds an all-CAR-T synthetic 837P (bench/synth837.py, every claim a CAR-T claim) in memory and
prints claims/s (wall clock and CPU time), best of `--repeat`, measured in the same run on the same bytes, for:

* read only: ``x12.read`` building every claim's full model;
* read + check: the same, and ``engine.check_claim`` on every claim;
* batch check path: ``batch_core.x12_columns`` with the bundled X12 pre-filter (what
  ``cartcode batch`` does per input, without writing files): read, check, output rows.

``--profile`` runs one pass of a step under cProfile and prints the top functions instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synth837
from cartcode.checker._engine import check_claim
from cartcode.formats.x12 import _reader as x12
from cartcode.kb.loader import load_kb
from cartcode.model import Claim


def build(n: int) -> bytes:
    return b"".join(synth837.generate(n, cart_fraction=1.0))


def steps(data: bytes) -> dict[str, Callable[[], int]]:
    from cartcode.batch._check import x12_columns
    from cartcode.formats.x12._prefilter import bundled_x12_pattern

    kb = load_kb()
    prefilter = bundled_x12_pattern()  # what batch uses for X12

    def read_only() -> int:
        return sum(1 for _ in x12.read(data, "cart.837"))

    def read_check() -> int:
        n = 0
        for item in x12.read(data, "cart.837"):
            if isinstance(item, Claim):
                check_claim(item, kb)
            n += 1
        return n

    def batch_path() -> int:
        return sum(len(cols) for cols in x12_columns(io.BytesIO(data), "cart.837", kb, prefilter))

    return {"read": read_only, "check": read_check, "batch": batch_path}


def best_rate(run: Callable[[], int], repeat: int) -> tuple[int, float, float]:
    """Claims, and claims/s by wall clock and by this process's CPU time (best of `repeat`):
    the machine is shared, so CPU time is the steadier figure for before/after comparisons."""
    wall = cpu = 1e9
    n = 0
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        n = run()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return n, n / wall, n / cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", choices=("read", "check", "batch"))
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--no-source", action="store_true",
                    help="skip the same steps from source (src/ on PYTHONPATH, a child process)")
    args = ap.parse_args()
    data = build(args.claims)
    todo = steps(data)
    for run in todo.values():  # warm the KB index, rule imports and caches once
        run()
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(todo[args.profile])
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
        return
    from cartcode import _build

    print(f"all-CAR-T 837P: {args.claims:,} claims, {len(data) / 1e6:.1f} MB (best of {args.repeat}); "
          f"cartcode {_build.describe()}")
    labels = {"read": "read only (full model)", "check": "read + check_claim",
              "batch": "batch check path (x12_columns)"}
    print(f"{'step':34s} {'wall':>16s} {'CPU':>16s}")
    for key, run in todo.items():
        n, wall, cpu = best_rate(run, args.repeat)
        assert n == args.claims, (key, n)
        print(f"{labels[key]:34s} {wall:>8,.0f} claims/s {cpu:>8,.0f} claims/s")
    if _build.compiled() and not args.no_source:
        # the same steps from source, on the same bytes (same seed), in a child process
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        cmd = [sys.executable, __file__, "--claims", str(args.claims), "--repeat", str(args.repeat), "--no-source"]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        print(out.strip().splitlines()[0])
        print("\n".join(out.strip().splitlines()[2:]))


if __name__ == "__main__":
    main()
