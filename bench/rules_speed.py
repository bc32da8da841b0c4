"""Rule time per claim: `.venv/bin/python -m bench.rules_speed`.

Reads the example claims once, then times `engine.check_claim` (rule work only, no parsing) on
each, plus a typical full inpatient CAR-T claim (12 diagnoses, 2 procedures, 15 lines). CPU time
(process_time), best of 5 runs, so other processes on the machine distort it less.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from cartcode.checker._engine import check_claim
from cartcode.formats import _json as json_claims
from cartcode.kb.loader import load_kb
from cartcode.model import Claim

ROOT = Path(__file__).resolve().parents[1]

TYPICAL = {
    "id": "TYPICAL", "kind": "institutional", "type_of_bill": "111", "payer": "medicare",
    "admission_date": "2025-05-20", "discharge_date": "2025-06-01",
    "diagnoses": ["C83.38", "D61.810", "R50.9", "D70.1", "E87.6", "E83.42", "R57.1", "I95.9", "N17.9", "D69.6",
                  "Z79.899", "Z92.21"],
    "procedures": [{"code": "XW043N7", "date": "2025-05-22"}, {"code": "3E03305", "date": "2025-05-20"}],
    "notes": ["Breyanzi"],
    "lines": [{"revenue_code": rev, "charge": 1000 + i} for i, rev in enumerate(
        ["0120", "0120", "0250", "0258", "0270", "0300", "0301", "0305", "0320", "0450", "0636", "0730", "0942"]
    )] + [{"revenue_code": "0874", "charge": 2750}, {"revenue_code": "0891", "code": "Q2054", "charge": 487500}],
}


def _time(claim: Claim, n: int = 2000) -> float:
    kb = load_kb()
    check_claim(claim, kb)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(n):
            check_claim(claim, kb)
        best = min(best, (time.process_time() - start) / n)
    return best * 1e6


def _calibration() -> float:
    """CPU time of a fixed pure-Python workload, to compare runs on busy or slow machines."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(2000):
            sum(range(1000))
        best = min(best, (time.process_time() - start) / 2000)
    return best * 1e6


def main() -> None:
    claims: list[Claim] = []
    for path in sorted((ROOT / "examples" / "claims").glob("*.json")):
        claims.extend(c for c in json_claims.read(path.read_bytes(), path.name) if isinstance(c, Claim))
    (typical,) = json_claims.read(json.dumps(TYPICAL).encode(), "typical.json")
    assert isinstance(typical, Claim)
    claims.insert(0, typical)
    kb = load_kb()
    calibration = _calibration()
    print(f"calibration: sum(range(1000)) = {calibration:.1f} us of CPU (about 7 us on an idle modern core)")
    for claim in claims:
        spent = _time(claim)
        scaled = spent * 7.0 / calibration
        print(f"{claim.id:14s} {claim.setting:12s} {len(check_claim(claim, kb)):2d} findings  {spent:7.1f} us"
              f"  (~{scaled:5.1f} us scaled to an idle core)")
    data = json.dumps(TYPICAL).encode()
    start = time.process_time()
    for _ in range(2000):
        list(json_claims.read(data, "typical.json"))
    print(f"JSON read of the typical claim: {(time.process_time() - start) / 2000 * 1e6:.1f} us")


if __name__ == "__main__":
    main()
