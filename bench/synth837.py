"""Synthetic 837P batches for the benchmark and the batch tests.

The claims copy the shape of ../shared/x12/professional/*.txt (imsweb's many-claims file): one
subscriber loop per claim (HL 22 -> SBR, NM1 IL, DMG, NM1 PR, CLM, HI, LX/SV1/DTP lines). A
fraction of them are CAR-T claims (38228 / 0540T administration, 38225-38227 steps, product
Q-codes, Z00.6), some coded right and some wrong, so the rules have something to find.

Every value is synthetic: names, member ids and dates of birth are made up (no PHI).
Written as a generator of byte chunks so a 1,000,000-claim file streams to disk in constant
memory.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from pathlib import Path

ORDINARY_CPT = ["99211", "99212", "99213", "99214", "99215", "85025", "80053", "36415", "93000",
                "71046", "J1100", "J3301", "96372", "90471", "G0439", "81002", "87880", "11721"]
ORDINARY_DX = ["I10", "E119", "J069", "M545", "R0789", "K219", "F419", "E785", "N390", "R51"]
CITIES = [("CALVERTON", "MD", "20705"), ("GREENBELT", "MD", "20770"), ("MIAMI", "FL", "33111"),
          ("LAS VEGAS", "NV", "89109"), ("BALTIMORE", "MD", "21201")]
# CAR-T claim templates: (lines as (code, modifiers, charge, units), diagnoses, date)
CART_TEMPLATES: list[tuple[list[tuple[str, str, str, str]], list[str], str]] = [
    ([("38228", "", "5000", "1")], ["C8338", "Z006"], "20250310"),       # right code after 2025
    ([("0540T", "", "5000", "1")], ["C8338"], "20250412"),               # deleted code in 2025
    ([("38228", "", "5000", "2")], ["C8590"], "20250520"),               # two units a day
    ([("38225", "", "1200", "1"), ("38226", "", "800", "1")], ["C9000"], "20250115"),
    ([("0540T", "KX", "4000", "1")], ["C8338"], "20230601"),             # right code in 2023
    ([("38228", "KX", "5000", "1"), ("Q2041", "", "1", "1")], ["C8338"], "20250702"),
    ([("38999", "", "3000", "1")], ["C9100"], "20250801"),               # unlisted
]


def _claim(i: int, rng: random.Random, cart: bool) -> bytes:
    hl = i + 2
    city, state, zipc = CITIES[i % len(CITIES)]
    head = (
        f"HL*{hl}*1*22*0~\n"
        f"SBR*P*18*GRP{i % 977:05d}******{'MB' if i % 3 == 0 else 'CI'}~\n"
        f"NM1*IL*1*PATIENT{i % 1000}*SYNTH****MI*M{i:09d}~\n"
        f"N3*{100 + i % 900} MAIN ST~\n"
        f"N4*{city}*{state}*{zipc}~\n"
        f"DMG*D8*19{40 + i % 50:02d}0{1 + i % 9}1{i % 9}*{'F' if i % 2 else 'M'}~\n"
        f"NM1*PR*2*SYNTH HEALTH PLAN*****PI*{11122333 + i % 50}~\n"
    )
    if cart:
        lines, dxs, day = CART_TEMPLATES[i % len(CART_TEMPLATES)]
        pos = "22"
    else:
        n = 1 + rng.randrange(3)
        lines = [
            (rng.choice(ORDINARY_CPT), "25" if rng.random() < 0.1 else "",
             f"{rng.randrange(20, 400)}.{rng.randrange(100):02d}", "1")
            for _ in range(n)
        ]
        dxs = rng.sample(ORDINARY_DX, 1 + rng.randrange(3))
        day = f"2025{1 + i % 12:02d}{1 + i % 28:02d}"
        pos = "11"
    total = sum(float(c) * float(u) for _, _, c, u in lines)
    hi = "*".join(("ABK:" if k == 0 else "ABF:") + d for k, d in enumerate(dxs))
    body = [f"CLM*{'CAR' if cart else 'PCN'}{i:09d}*{total:.2f}***{pos}:B:1*Y*A*Y*Y~\n", f"HI*{hi}~\n"]
    for n_line, (code, mod, charge, units) in enumerate(lines, start=1):
        proc = f"HC:{code}:{mod}" if mod else f"HC:{code}"
        body.append(f"LX*{n_line}~\nSV1*{proc}*{charge}*UN*{units}***1~\nDTP*472*D8*{day}~\n")
    return (head + "".join(body)).encode("ascii")


_ISA = ("ISA*00*          *00*          *ZZ*SYNTHSUBMITTER *ZZ*SYNTHRECEIVER  *250101*1200*^*00501*"
        "{ctl:09d}*0*T*:~\n")
_ST_HEAD = ("ST*837*{st:04d}*005010X222A1~\nBHT*0019*00*{st:04d}*20250101*1200*CH~\n"
            "NM1*41*2*SYNTH BILLING*****46*TGJ23~\nPER*IC*BILLING DESK*TE*3055552222~\n"
            "NM1*40*2*SYNTH RECEIVER*****46*66783JJT~\nHL*1**20*1~\n"
            "NM1*85*2*SYNTH MEDICAL GROUP*****XX*1234567893~\nN3*3901 CALVERTON BLVD~\n"
            "N4*CALVERTON*MD*20705~\nREF*EI*123456789~\n")


def generate(n_claims: int, *, cart_fraction: float = 0.01, seed: int = 837,
             claims_per_st: int = 5000, st_per_isa: int = 20) -> Iterator[bytes]:
    """Yield an 837P file in chunks: ISA/GS envelopes of `st_per_isa` ST transactions of
    `claims_per_st` claims each (one HL 22 subscriber loop per claim)."""
    rng = random.Random(seed)
    every = round(1 / cart_fraction) if 0 < cart_fraction < 1 else 1
    done = 0
    isa = 0
    while done < n_claims:
        isa += 1
        yield _ISA.format(ctl=isa).encode()
        yield f"GS*HC*SYNTHSUB*SYNTHRCV*20250101*1200*{isa}*X*005010X222A1~\n".encode()
        n_st = 0
        while done < n_claims and n_st < st_per_isa:
            n_st += 1
            st = n_st
            head = _ST_HEAD.format(st=st).encode()
            parts = [head]
            segs = head.count(b"~")
            k = 0
            while done < n_claims and k < claims_per_st:
                cart = cart_fraction >= 1 or (done % every == every // 2)
                claim = _claim(done, rng, cart)
                parts.append(claim)
                segs += claim.count(b"~")
                done += 1
                k += 1
            parts.append(f"SE*{segs + 1}*{st:04d}~\n".encode())
            yield b"".join(parts)
        yield f"GE*{n_st}*{isa}~\nIEA*1*{isa:09d}~\n".encode()


def write(path: Path, n_claims: int, **kwargs: float | int) -> Path:
    """Write a synthetic batch to `path` (gzip when it ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as out:
        for chunk in generate(n_claims, **kwargs):  # type: ignore[arg-type]
            out.write(chunk)
    return path


if __name__ == "__main__":  # pragma: no cover - a helper for trying things by hand
    import sys

    write(Path(sys.argv[1]), int(sys.argv[2]), cart_fraction=float(sys.argv[3]) if len(sys.argv) > 3 else 0.01)
