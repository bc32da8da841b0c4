"""The patient's sex and birth date on the claim model, from X12 DMG, our JSON and FHIR Patient.

PHI: a birth date that cannot be read is reported by where it is, never by its value."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cartcode.formats import read_claims
from cartcode.model import Claim, ClaimError
from samples import inpatient_837i

D = dt.date


def _one(data: bytes, name: str = "claim") -> Claim:
    (item,) = list(read_claims(data, name))
    assert isinstance(item, Claim), item
    return item


# ------------------------------------------------------------------------------------------ X12
def _with_patient_loop(dmg: str | None) -> str:
    """The sample 837I with the patient under an HL 23 (2000C / 2010CA), not the subscriber."""
    text = inpatient_837i(birth_date="19500101").replace("HL*2*1*22*0", "HL*2*1*22*1")
    patient = "HL*3*2*23*0~\nPAT*19~\nNM1*QC*1*CHILD*ALEX~\n" + (f"{dmg}~\n" if dmg else "")
    return text.replace("NM1*PR*2*MEDICARE*****PI*00120~\n", "NM1*PR*2*MEDICARE*****PI*00120~\n" + patient)


def test_x12_subscriber_dmg_when_the_subscriber_is_the_patient() -> None:
    claim = _one(inpatient_837i(birth_date="19500101").encode())
    assert (claim.sex, claim.birth_date) == ("F", D(1950, 1, 1))
    loc = claim.locs["birth_date"]
    assert (loc.segment_id, loc.element, loc.loop) == ("DMG", "DMG02", "2010BA")


def test_x12_patient_loop_wins_over_the_subscriber() -> None:
    claim = _one(_with_patient_loop("DMG*D8*20100315*M").encode())
    assert (claim.sex, claim.birth_date) == ("M", D(2010, 3, 15))
    assert claim.locs["sex"].loop == "2010CA" and claim.locs["sex"].element == "DMG03"


def test_x12_patient_loop_without_dmg_does_not_borrow_the_subscribers() -> None:
    claim = _one(_with_patient_loop(None).encode())
    assert (claim.sex, claim.birth_date) == (None, None)


def test_x12_unknown_sex_and_a_bad_birth_date_unquoted() -> None:
    claim = _one(inpatient_837i(birth_date="19501399").replace("DMG*D8*19501399*F", "DMG*D8*19501399*X").encode())
    assert claim.birth_date is None and claim.sex == "U"
    messages = [n.message for n in claim.input_notes]
    assert any("DMG02 (birth date)" in m for m in messages)
    assert not any("19501399" in m for m in messages)


# ------------------------------------------------------------------------------------------ our JSON
def _json_claim(**extra: Any) -> bytes:
    claim = {"kind": "institutional", "type_of_bill": "111", "discharge_date": "2025-06-01",
             "diagnoses": ["C83.30"], "procedures": ["XW043N7"], **extra}
    return json.dumps(claim).encode()


def test_json_sex_and_birth_date() -> None:
    claim = _one(_json_claim(sex="F", birth_date="1961-07-04"))
    assert (claim.sex, claim.birth_date) == ("F", D(1961, 7, 4))
    assert claim.locs["birth_date"].path == "$.birth_date"
    assert (_one(_json_claim()).sex, _one(_json_claim()).birth_date) == (None, None)


def test_json_bad_birth_date_fails_the_claim_without_quoting_it() -> None:
    for bad in ("1961-13-45", "04/07/1961", 19610704):
        (item,) = list(read_claims(_json_claim(birth_date=bad), "c.json"))
        assert isinstance(item, ClaimError)
        assert "$.birth_date" in item.error and str(bad) not in item.error
        assert "1961" not in item.error


def test_json_sex_must_be_m_f_or_u() -> None:
    (item,) = list(read_claims(_json_claim(sex="female"), "c.json"))
    assert isinstance(item, ClaimError) and "$.sex" in item.error


# ------------------------------------------------------------------------------------------ FHIR
def _fhir_claim(patient_ref: str, *, resource: str = "Claim") -> dict[str, Any]:
    return {
        "resourceType": resource, "id": "F1", "status": "active", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": patient_ref},
        "billablePeriod": {"start": "2025-05-25", "end": "2025-06-01"},
        "procedure": [{"sequence": 1, "procedureCodeableConcept": {"coding": [
            {"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "XW043N7"}]}}],
    }


def _patient(pid: str, gender: str, born: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": born,
            "name": [{"family": "DOE", "given": ["JANE"]}]}


def test_fhir_contained_patient() -> None:
    doc = _fhir_claim("#p1")
    doc["contained"] = [_patient("p1", "female", "1958-02-11")]
    claim = _one(json.dumps(doc).encode(), "c.fhir.json")
    assert (claim.sex, claim.birth_date) == ("F", D(1958, 2, 11))
    assert claim.locs["birth_date"].path == "Claim.contained[0].birthDate"


def test_fhir_bundle_patient_by_full_url_and_by_id() -> None:
    for ref in ("urn:uuid:0b5c", "Patient/p9"):
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:0b5c", "resource": _patient("p9", "male", "1949-12-31")},
            {"fullUrl": "urn:uuid:c1", "resource": _fhir_claim(ref, resource="ExplanationOfBenefit")},
        ]}
        claim = _one(json.dumps(bundle).encode(), "b.fhir.json")
        assert (claim.sex, claim.birth_date) == ("M", D(1949, 12, 31)), ref
        assert claim.locs["sex"].path == "Bundle.entry[0].resource.gender"


def test_fhir_unknown_gender_unreadable_birth_date_and_dangling_reference() -> None:
    doc = _fhir_claim("#p1")
    doc["contained"] = [_patient("p1", "other", "1958")]
    claim = _one(json.dumps(doc).encode(), "c.fhir.json")
    assert (claim.sex, claim.birth_date) == ("U", None)
    claim = _one(json.dumps(_fhir_claim("Patient/nowhere")).encode(), "c.fhir.json")
    assert (claim.sex, claim.birth_date) == (None, None)
