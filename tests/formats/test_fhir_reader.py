"""The FHIR reader: Blue Button EOBs as published, and CAR-T Claim/EOB fixtures against their JSON twins."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cartcode.checker import _engine as engine
from cartcode.findings import CodeRef, Fix
from cartcode.formats import _json as json_claims
from cartcode.formats import read_claims
from cartcode.formats.fhir import _reader as fhir
from cartcode.model import Claim, ClaimError
from shared_data import SHARED

SHARED_FHIR = SHARED / "fhir"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
TWINS = ["cart-eob-inpatient.json", "cart-eob-outpatient.json", "cart-claim-professional.json"]


def comparable(claim: Claim) -> dict[str, Any]:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            skip = ("loc", "locs", "source", "format", "input_notes")
            return {k: strip(v) for k, v in value.items() if k not in skip}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(dataclasses.asdict(claim))  # type: ignore[no-any-return]


def test_blue_button_eobs_read_with_located_model_warnings() -> None:
    data = (SHARED_FHIR / "bfd-eobReadInpatient.json").read_bytes()
    (claim,) = fhir.read(data, "bfd.json")
    assert isinstance(claim, Claim)
    assert claim.kind == "institutional" and claim.type_of_bill == "111"
    assert (claim.payer, claim.medicare_part) == ("medicare", "A")
    assert [d.code for d in claim.diagnoses if d.kind == "principal"] == ["A40"]
    assert claim.procedures[0].code == "BQ0HZZZ" and claim.procedures[0].principal
    assert claim.drg is not None and claim.drg.code == "695"
    line = claim.lines[0]
    assert line.revenue_code is not None and line.revenue_code.code == "6767"
    assert line.procedure is not None and line.procedure.loc is not None
    assert line.procedure.loc.path == "ExplanationOfBenefit.item[0].productOrService.coding[0]"
    assert line.charge == Decimal("84888.88")
    model = [n for n in claim.input_notes if n.rule == "FHIR-MODEL"]
    assert {n.loc.path for n in model if n.loc} == {
        "ExplanationOfBenefit.created",
        "ExplanationOfBenefit.meta.lastUpdated",
    }
    # the rejected value is never quoted (issue 14: it may be PHI), only the place and the reason
    assert all("IGNORED_FIELD" not in n.message and "rejected by the FHIR R4B model" in n.message for n in model)


def test_outpatient_blue_button_eob() -> None:
    data = (SHARED_FHIR / "bfd-eobReadOutpatient.json").read_bytes()
    (claim,) = read_claims(data, "out.json")
    assert isinstance(claim, Claim)
    assert claim.format == "fhir" and claim.type_of_bill == "131" and claim.medicare_part == "B"
    assert claim.lines[0].ndc == "000000000"
    assert any("revenue code '1'" in n.message for n in claim.input_notes)


@pytest.mark.parametrize("name", TWINS)
def test_same_claim_as_json_twin(name: str) -> None:
    (from_fhir,) = fhir.read((FIXTURES / name).read_bytes(), name)
    twin = name.replace(".json", ".twin.json")
    (from_json,) = json_claims.read((FIXTURES / twin).read_bytes(), twin)
    assert isinstance(from_fhir, Claim) and isinstance(from_json, Claim)
    assert comparable(from_fhir) == comparable(from_json)


@pytest.mark.parametrize("name", TWINS)
def test_same_findings_as_json_twin(name: str, kb: Any) -> None:
    twin = name.replace(".json", ".twin.json")
    a = engine.check((FIXTURES / name).read_bytes(), filename=name, kb=kb)
    b = engine.check((FIXTURES / twin).read_bytes(), filename=twin, kb=kb)

    def key(report: engine.Report) -> list[tuple[Any, ...]]:
        return [
            (f.rule, f.severity.value, f.message, f.fix and dataclasses.asdict(f.fix))
            for c in report.claims
            for f in c.findings
            if not f.rule.startswith("FHIR-")
        ]

    assert key(a) == key(b)
    assert key(a), "the CAR-T fixture should have findings"
    paths = [f.location.get("path", "") for c in a.claims for f in c.findings if f.rule.startswith("CART")]
    assert all(p.startswith(("ExplanationOfBenefit", "Claim")) for p in paths)


def test_bundle_reads_every_claim_in_order(kb: Any) -> None:
    data = (FIXTURES / "cart-bundle.json").read_bytes()
    items = list(fhir.read(data, "bundle.json"))
    assert [i.id for i in items] == ["IP-2022-0105", "OP-2025-0212", "PR-2025-0310"]
    assert [i.source.index for i in items] == [0, 1, 2]
    first = items[0]
    assert isinstance(first, Claim) and first.procedures[0].loc is not None
    assert first.procedures[0].loc.path == "Bundle.entry[1].resource.procedure[0].procedureCodeableConcept.coding[0]"


def test_not_json_is_a_failed_entry() -> None:
    (item,) = fhir.read(b'{"resourceType": "Claim", ', "broken.json")
    assert isinstance(item, ClaimError) and "not JSON" in item.error


def test_ndjson_lines() -> None:
    lines = [json.dumps(json.loads((FIXTURES / n).read_bytes())) for n in TWINS[:2]]
    items = list(fhir.read(("\n".join([*lines, "{oops"]) + "\n").encode(), "x.ndjson"))
    assert [i.id for i in items[:2]] == ["IP-2022-0105", "OP-2025-0212"]
    assert isinstance(items[2], ClaimError) and "line 3" in items[2].error


def test_no_fix_is_byte_identical() -> None:
    data = (FIXTURES / "cart-bundle.json").read_bytes()
    assert fhir.apply_fixes(data, "b.json", {}) == data


def test_fix_round_trip(kb: Any) -> None:
    for name in [*TWINS, "cart-bundle.json"]:
        data = (FIXTURES / name).read_bytes()
        report = engine.check(data, filename=name, kb=kb)
        fixed = engine.fix(data, name, report)
        safe = {f.rule for c in report.claims for f in c.findings if f.fix is not None and f.fix.safe}
        again = engine.check(fixed, filename=name, kb=kb)
        still = {f.rule for c in again.claims for f in c.findings if f.fix is not None and f.fix.safe}
        assert not (safe & still), (name, safe & still)
        assert json.loads(fixed)  # still JSON


def test_fix_edits_codings_in_place() -> None:
    data = (FIXTURES / "cart-eob-outpatient.json").read_bytes()
    fixes = {
        0: [
            Fix(
                remove=[CodeRef(system="CPT", code="0540T")],
                add=[CodeRef(system="CPT", code="38228")],
                safe=True,
                line=1,
            ),
            Fix(remove=[CodeRef(system="modifier", code="KX")], safe=True, line=1),
            Fix(add=[CodeRef(system="condition", code="30")], safe=True),
            Fix(add=[CodeRef(system="ICD-10-CM", code="Z00.6")], safe=True),
        ]
    }
    doc = json.loads(fhir.apply_fixes(data, "o.json", fixes))
    item = doc["item"][0]
    assert item["productOrService"]["coding"][0]["code"] == "38228" and item["modifier"] == []
    (claim,) = fhir.read(json.dumps(doc).encode(), "o.json")
    assert isinstance(claim, Claim)
    assert [c.code for c in claim.condition_codes] == ["30"]
    assert "Z00.6" in [d.code for d in claim.diagnoses]
