"""837I claims that mention nothing CAR-T, for the tests of the inpatient pre-filter (batch, check's fast
path, Spark): a heart failure stay (principal dx I50.20, 2025-11-20 to 2025-11-25, FY2026) with no
procedure or with a coronary stent (02703DZ), and an outpatient visit; plus a CAR-T stay for
contrast. `x12` writes them into one 837I with any delimiters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stay:
    id: str
    facility: str = "11"  # CLM05-1: 11 inpatient, 13 outpatient; "011" zero-padded
    qualifier: str = "A"  # CLM05-2 (837P writes B)
    pcs: str | None = None  # principal procedure (HI*BBR)
    cart: bool = False  # a Yescarta stay: C83.30, XW033H7 and the product line (Q2041, revenue 0891)


HEART_FAILURE = Stay("HF1")
STENT = Stay("HF2", pcs="02703DZ")
OUTPATIENT = Stay("OP1", facility="13")
CAR_T = Stay("CAR1", pcs="XW033H7", cart=True)


def _segments(stay: Stay, hl: int) -> list[str]:
    dx = "C8330" if stay.cart else "I5020"
    segs = [
        f"HL*{hl}*1*22*0", "SBR*P*18*******MA", "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73", "DMG*D8*19500309*F",
        "NM1*PR*2*MEDICARE*****PI*00120", f"CLM*{stay.id}*25000***{stay.facility}:{stay.qualifier}:1**A*Y*Y",
        "DTP*434*RD8*20251120-20251125", "DTP*435*D8*20251120", "CL1*1*1*01", f"HI*ABK:{dx}:::::::Y",
    ]
    if stay.pcs:
        segs.append(f"HI*BBR:{stay.pcs}:D8:20251121")
    if stay.cart:
        segs += ["LX*1", "SV2*0891*HC:Q2041*450000*UN*1", "DTP*472*D8*20251121"]
    segs += [f"LX*{2 if stay.cart else 1}", "SV2*0120**25000*UN*5", "DTP*472*D8*20251121"]
    return segs


def x12(stays: Sequence[Stay], *, element: str = "*", component: str = ":", segment: str = "~") -> bytes:
    """One 837I interchange (005010X223A2) holding `stays`, written with the given delimiters."""
    segs = ["ST*837*0001*005010X223A2", "BHT*0019*00*0001*20251205*1200*CH",
            "NM1*41*2*GENERAL HOSPITAL*****46*123456789", "NM1*40*2*MEDICARE*****46*00120", "HL*1**20*1",
            "NM1*85*2*GENERAL HOSPITAL*****XX*1234567893"]
    for k, stay in enumerate(stays):
        segs += _segments(stay, k + 2)
    segs.append(f"SE*{len(segs) + 1}*0001")
    segs = ["ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *251205*1200*^*00501*"
            "000000001*0*T*:", "GS*HC*SUBMITTER*RECEIVER*20251205*1200*1*X*005010X223A2", *segs,
            "GE*1*1", "IEA*1*000000001"]
    text = "".join(s + "~\n" for s in segs)
    return text.translate(str.maketrans({"*": element, ":": component, "~": segment})).encode("ascii")
