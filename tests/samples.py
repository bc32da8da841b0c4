"""Sample claims the tests and benchmarks share (one copy each): an outpatient JSON claim that
bills the deleted 0540T, and an inpatient CAR-T 837I whose patient fields can carry canaries."""

from __future__ import annotations

from typing import Any

OUTPATIENT_0540T: dict[str, Any] = {
    "id": "CLM-OP-1", "kind": "institutional", "type_of_bill": "131", "payer": "medicare",
    "statement_from": "2025-03-10", "statement_to": "2025-03-10", "diagnoses": ["C83.30"],
    "lines": [
        {"revenue_code": "0874", "code": "0540T", "date": "2025-03-10", "units": 1, "charge": 1000},
        {"revenue_code": "0891", "code": "Q2056", "date": "2025-03-10", "units": 1, "charge": 400000},
    ],
}


def inpatient_837i(
    claim_id: str = "CLM-X12-1",
    *,
    pcs: str = "XW043N7",
    subscriber: tuple[str, str, str] = ("DOE", "JANE", "1EG4TE5MK73"),
    street: str = "1 ELM ST",
    birth_date: str = "19500101",
) -> str:
    """An 837I (005010X223A2) for an inpatient CAR-T stay discharged 2025-06-01: Medicare Part A,
    one ICD-10-PCS code, the product on 0891 and the administration on 0874."""
    surname, given, member = subscriber
    segments = [
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250601*1200*^*00501*000000001*0*T*:",
        "GS*HC*SUBMITTER*RECEIVER*20250601*1200*1*X*005010X223A2",
        "ST*837*0001*005010X223A2",
        "BHT*0019*00*0001*20250601*1200*CH",
        "NM1*41*2*GENERAL HOSPITAL*****46*123456789",
        "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*MEDICARE*****46*00120",
        "HL*1**20*1",
        "NM1*85*2*GENERAL HOSPITAL*****XX*1234567893",
        "N3*1 MAIN ST",
        "N4*ANYTOWN*TX*75001",
        "REF*EI*123456789",
        "HL*2*1*22*0",
        "SBR*P*18*******MA",
        f"NM1*IL*1*{surname}*{given}****MI*{member}",
        f"N3*{street}",
        "N4*ANYTOWN*TX*75001",
        f"DMG*D8*{birth_date}*F",
        "NM1*PR*2*MEDICARE*****PI*00120",
        f"CLM*{claim_id}*401000***11:A:1**A*Y*Y",
        "DTP*434*RD8*20250525-20250601",
        "CL1*1*1*01",
        "HI*ABK:C8330",
        f"HI*BBR:{pcs}:D8:20250528",
        "NM1*71*1*ATTENDING*DOCTOR****XX*1234567893",
        "LX*1",
        "SV2*0891*HC:Q2054*400000*UN*1",
        "DTP*472*D8*20250528",
        "LX*2",
        "SV2*0874**1000*UN*1",
        "DTP*472*D8*20250528",
    ]
    count = len(segments) - 2 + 1  # ST..SE inclusive
    segments += [f"SE*{count}*0001", "GE*1*1", "IEA*1*000000001"]
    return "~\n".join(segments) + "~\n"


# Canary PHI: what no error body, log line or echo may ever contain.
CANARIES = ("CANARYSURNAMEQX", "CANARYGIVENQX", "CANARYMBR0042QX", "19230405", "CANARYCLM77")


def big_837i(lines: int) -> bytes:
    """One inpatient claim with `lines` service lines (about 47 bytes each), canary PHI in it."""
    text = inpatient_837i("CANARYCLM77", subscriber=("CANARYSURNAMEQX", "CANARYGIVENQX", "CANARYMBR0042QX"),
                          birth_date="19230405")
    head, tail = text.split("SE*", 1)
    extra = "".join(f"LX*{n}~SV2*0874**1000*UN*1~DTP*472*D8*20250528~" for n in range(3, lines + 1))
    return (head + extra + "SE*" + tail).encode()


# The files a finished `cartcode batch` run leaves in its output folder.
BATCH_OUTPUTS = ("claims.parquet", "claims.csv", "findings.parquet", "findings.csv", "summary.json")


def part_b_claim(claim_id: str, code: str = "38228") -> dict[str, Any]:
    """A Part B professional claim (our JSON) with one line billing `code` on 2025-03-10."""
    return {
        "id": claim_id, "kind": "professional", "place_of_service": "22", "payer": "medicare", "medicare_part": "B",
        "diagnoses": [{"code": "C83.38", "kind": "principal"}],
        "lines": [{"code": code, "units": 1, "charge": 5000, "date": "2025-03-10"}],
    }
