"""Inpatient CAR-T claims for the payment estimate tests (check and batch): a Yescarta stay
discharged in December 2025 (FY2026), in our JSON format and as an 837I."""

from __future__ import annotations

from typing import Any

FY2026_NATIONAL = "314231.00"  # the published FY2026 national MS-DRG 018 operating payment


def inpatient(name: str = "IP1", *, discharged: str = "2025-12-01", admitted: str = "2025-11-20",
              product_charge: str | None = "450000", total: str | None = "1500000", dx: tuple[str, ...] = (),
              conditions: tuple[str, ...] = (), notes: tuple[str, ...] = ("Yescarta",), status: str = "01",
              payer: str | None = "medicare") -> dict[str, Any]:
    """An inpatient Yescarta claim in our JSON format (central line administration)."""
    lines: list[dict[str, Any]] = [
        {"revenue_code": "0874", "units": 1, "charge": "25000", "date": "2025-11-21"},
        {"revenue_code": "0120", "units": 10, "charge": "100000"},
    ]
    if product_charge is not None:
        lines.insert(0, {"revenue_code": "0891", "code": "Q2041", "units": 1, "charge": product_charge,
                         "date": "2025-11-21"})
    claim: dict[str, Any] = {
        "id": name, "kind": "institutional", "type_of_bill": "111", "admission_date": admitted,
        "statement_from": admitted, "statement_to": discharged, "discharge_date": discharged,
        "sex": "F", "birth_date": "1957-03-09", "patient_status": status,
        "diagnoses": [{"code": "C83.30", "poa": "Y"}, *({"code": c, "poa": "Y"} for c in dx)],
        "procedures": [{"code": "XW033H7", "date": "2025-11-21"}],
        "condition_codes": list(conditions), "notes": list(notes), "lines": lines,
    }
    if payer is not None:
        claim["payer"] = payer
    if total is not None:
        claim["total_charge"] = total
    return claim


def x12_837i(*, total: str = "1500000", z006: bool = False, note: str = "Yescarta") -> bytes:
    """The same Yescarta stay as an 837I (Medicare Part A), one claim."""
    hi_dx = "HI*ABK:C8330:::::::Y" + ("*ABF:Z006:::::::Y" if z006 else "")
    segs = [
        "ST*837*0001*005010X223A2", "BHT*0019*00*0001*20251205*1200*CH",
        "NM1*41*2*GENERAL HOSPITAL*****46*123456789", "NM1*40*2*MEDICARE*****46*00120",
        "HL*1**20*1", "NM1*85*2*GENERAL HOSPITAL*****XX*1234567893", "HL*2*1*22*0", "SBR*P*18*******MA",
        "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73", "DMG*D8*19570309*F", "NM1*PR*2*MEDICARE*****PI*00120",
        f"CLM*IP-X12*{total}***11:A:1**A*Y*Y", "DTP*434*RD8*20251120-20251201", "DTP*435*D8*20251120",
        "CL1*1*1*01", f"NTE*ADD*{note}", hi_dx, "HI*BBR:XW033H7:D8:20251121",
        "LX*1", "SV2*0891*HC:Q2041*450000*UN*1", "DTP*472*D8*20251121",
        "LX*2", "SV2*0874**25000*UN*1", "DTP*472*D8*20251121",
    ]
    segs.append(f"SE*{len(segs) + 1}*0001")
    head = ("ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *251205*1200*^*00501*"
            "000000001*0*T*:~\nGS*HC*SUBMITTER*RECEIVER*20251205*1200*1*X*005010X223A2~\n")
    return (head + "~\n".join(segs) + "~\nGE*1*1~\nIEA*1*000000001~\n").encode()
