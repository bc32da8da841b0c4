"""Time loading and validating the bundled knowledge base (the issue asks for well under 100 ms).

    .venv/bin/python bench/kb_load.py [--repeat N]

Prints the first load in a fresh process and the median and best of N further loads, with the
parsed-YAML cache (keyed by each file's SHA-256; see loader._read_yaml) and without it (a fresh empty
cache directory per load). Every load re-reads, re-hashes and re-validates every file."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    start = time.perf_counter()
    from cartcode.kb.loader import bundled_kb_dir, load_kb_from

    imported = time.perf_counter()
    kb = load_kb_from(bundled_kb_dir())
    first = time.perf_counter() - imported
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        load_kb_from(bundled_kb_dir())
        times.append(time.perf_counter() - t0)
    print(f"KB edition {kb.edition} (as of {kb.as_of}): {len(kb.sources)} sources, {len(kb.codes)} code rows, "
          f"{len(kb.products)} products, {len(kb.policies)} policies, {len(kb.decisions)} decisions")
    print(f"import cartcode.kb.loader: {(imported - start) * 1000:.1f} ms")
    print(f"load+validate, first (cold): {first * 1000:.1f} ms")
    print(f"load+validate, cached YAML, median of {args.repeat}: {statistics.median(times) * 1000:.1f} ms; "
          f"best: {min(times) * 1000:.1f} ms")
    cold = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as empty:
            os.environ["CARTCODE_CACHE_DIR"] = empty
            t0 = time.perf_counter()
            load_kb_from(bundled_kb_dir())
            cold.append(time.perf_counter() - t0)
    print(f"load+validate, no cache (YAML parsed), median of {args.repeat}: {statistics.median(cold) * 1000:.1f} ms; "
          f"best: {min(cold) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
