"""Synthetic inpatient CAR-T 837I (005010X223A2): every claim an 11X stay with a CAR-T ICD-10-PCS
code, discharges spread over FY2023-FY2027, so the MS-DRG grouper and the MCE run on each claim.

    python bench/synth837i.py OUT.837 N_CLAIMS
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

PCS = ("XW033N7", "XW043N7", "XW033K7", "XW043C7", "XW033H7", "XW033M7")
PRINCIPAL = ("C8330", "C9000", "C8590", "C8338")
STAYS = (("20230105", "20230115"), ("20240501", "20240510"), ("20250520", "20250601"),
         ("20260410", "20260420"), ("20261020", "20261103"))
PER_ST = 5000


def write(path: Path, n_claims: int, seed: int = 11) -> Path:
    rng = random.Random(seed)
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
                admit, discharge = rng.choice(STAYS)
                sex = "F" if done % 2 else "M"
                segs += [
                    f"HL*{k + 2}*1*22*0", "SBR*P*18*******MA", f"NM1*IL*1*PATIENT{done}*SYNTH****MI*M{done:09d}",
                    f"DMG*D8*19{40 + done % 50:02d}0{1 + done % 9}1{done % 9}*{sex}", "NM1*PR*2*MEDICARE*****PI*00120",
                    f"CLM*CAR{done:09d}*401000***11:A:1**A*Y*Y", f"DTP*434*RD8*{admit}-{discharge}",
                    f"DTP*435*D8*{admit}", "CL1*1*1*01", f"HI*ABK:{rng.choice(PRINCIPAL)}:::::::Y*ABF:D701:::::::N",
                    f"HI*BBR:{rng.choice(PCS)}:D8:{admit}", "LX*1", "SV2*0891*HC:Q2054*400000*UN*1",
                    f"DTP*472*D8*{admit}", "LX*2", "SV2*0874**1000*UN*1", f"DTP*472*D8*{admit}",
                ]
                k += 1
                done += 1
            segs.append(f"SE*{len(segs) + 1}*{st:04d}")
            out.write("~\n".join(segs) + "~\n")
        out.write(f"GE*{st}*1~\nIEA*1*000000001~\n")
    return path


if __name__ == "__main__":
    write(Path(sys.argv[1]), int(sys.argv[2]))
