"""Our JSON claim format: reading (with JSON paths), per-claim failures, and writing fixes back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from cartcode.checker._engine import check_claim
from cartcode.errors import InputError
from cartcode.findings import CodeRef, Fix
from cartcode.formats import _json as json_claims
from cartcode.formats import read_claims
from cartcode.model import Claim, ClaimError
from cartcode.schemas import load_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "claims"


def _read(doc: object) -> list[Claim | ClaimError]:
    return list(json_claims.read(json.dumps(doc).encode(), "f.json"))


def test_single_claim_paths_and_normal_forms() -> None:
    (claim,) = _read({
        "id": "A1", "kind": "institutional", "type_of_bill": "0111", "discharge_date": "2025-06-01",
        "diagnoses": ["c83.38", {"code": "Z006", "kind": "other"}], "procedures": [{"code": "xw043n7"}],
        "lines": [{"revenue_code": 874, "code": "38228", "modifiers": ["kx"], "units": 1, "charge": "2,500.00"}],
    })
    assert isinstance(claim, Claim)
    assert claim.type_of_bill == "111" and claim.setting == "inpatient"
    assert [d.code for d in claim.diagnoses] == ["C83.38", "Z00.6"]
    assert claim.diagnoses[0].kind == "principal"
    assert claim.procedures[0].code == "XW043N7" and claim.procedures[0].loc is not None
    assert claim.procedures[0].loc.path == "$.procedures[0].code"
    line = claim.lines[0]
    assert line.revenue_code is not None and line.revenue_code.code == "0874"
    assert line.procedure is not None and line.procedure.system == "CPT"
    assert line.modifier_codes() == ["KX"] and line.charge == Decimal("2500.00")
    assert line.loc is not None and line.loc.path == "$.lines[0]" and line.loc.file == "f.json"


def test_claims_list_and_bare_list_have_indexed_paths() -> None:
    claims = _read({"claims": [{"kind": "professional", "lines": [{"code": "Q2042"}]}, {"kind": "professional"}]})
    assert [c.source.index for c in claims] == [0, 1]
    first = claims[0]
    assert isinstance(first, Claim) and first.id == "#1"
    proc = first.lines[0].procedure
    assert proc is not None and proc.system == "HCPCS" and proc.loc is not None
    assert proc.loc.path == "$.claims[0].lines[0].code"
    (bare,) = _read([{"kind": "professional", "id": "B"}])
    assert isinstance(bare, Claim) and bare.loc is not None and bare.loc.path == "$[0]"


@pytest.mark.parametrize(
    ("claim", "path"),
    [
        ({"kind": "institutional", "discharge_date": "2025-02-30"}, "$.claims[1].discharge_date"),
        ({"kind": "institutional", "discharge_date": "06/01/2025"}, "$.claims[1].discharge_date"),
        ({"kind": "hospital"}, "$.claims[1].kind"),
        ({"id": "X"}, "$.claims[1].kind"),
        ({"kind": "professional", "lines": [{"code": "38228", "units": "two"}]}, "$.claims[1].lines[0].units"),
        ({"kind": "professional", "lines": [{"cod": "38228"}]}, "$.claims[1].lines[0].cod"),
        ({"kind": "professional", "lines": ["38228"]}, "$.claims[1].lines[0]"),
        ({"kind": "institutional", "type_of_bill": "11"}, "$.claims[1].type_of_bill"),
        ({"kind": "institutional", "procedures": [{"code": 7}], "diagnoses": [None]}, "$.claims[1].diagnoses[0]"),
    ],
)
def test_a_malformed_claim_fails_alone_with_its_path(claim: dict[str, object], path: str) -> None:
    good = {"kind": "professional", "id": "ok"}
    results = _read({"claims": [good, claim, good]})
    assert [type(r).__name__ for r in results] == ["Claim", "ClaimError", "Claim"]
    error = results[1]
    assert isinstance(error, ClaimError)
    assert error.location is not None and error.location.path == path
    assert path in error.error and "f.json" in error.error


def test_extension_fields_are_allowed() -> None:
    (claim,) = _read({"kind": "professional", "x-source": "EHR", "lines": [{"code": "38228", "x-note": 1}]})
    assert isinstance(claim, Claim)


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe", b'"a string"'])
def test_a_file_that_is_not_a_claim_document_is_an_input_error(data: bytes) -> None:
    with pytest.raises(InputError) as info:
        list(json_claims.read(data, "bad.json"))
    assert "bad.json" in str(info.value)


def test_read_claims_detects_our_format() -> None:
    (claim,) = list(read_claims(b'{"kind": "professional"}', "x.json"))
    assert isinstance(claim, Claim) and claim.format == "json"


def test_apply_fixes_changes_only_the_fixed_values() -> None:
    text = (
        '{"claims": [\n {"id": "A", "kind": "institutional", "charge_note": null, "procedures": ["XW033C3"],\n'
        '  "condition_codes": ["ZC", "30"],\n'
        '  "lines": [{"revenue_code": "0636", "code": "0540T", "modifiers": ["Q1"], "charge": 1500.00, "units": 1}]},\n'
        ' {"id": "B", "kind": "professional", "lines": [{"code": "0540T", "charge": 99.10}]}\n]}'
    ).replace('"charge_note": null, ', "")
    fixes = {0: [
        Fix(remove=[CodeRef(system="CPT", code="0540T")], add=[CodeRef(system="CPT", code="38228")], safe=True, line=1),
        Fix(remove=[CodeRef(system="revenue", code="0636")], add=[CodeRef(system="revenue", code="0891")], safe=True,
            line=1),
        Fix(add=[CodeRef(system="modifier", code="KX")], safe=True, line=1),
        Fix(remove=[CodeRef(system="condition", code="ZC")], safe=True),
        Fix(add=[CodeRef(system="note", code="Expand Acc Use")], safe=True),
        Fix(remove=[CodeRef(system="ICD-10-PCS", code="XW033C3")], add=[CodeRef(system="ICD-10-PCS", code="XW033H7")],
            safe=True),
    ]}
    out = json_claims.apply_fixes(text.encode(), "f.json", fixes).decode()
    doc = json.loads(out)
    first, second = doc["claims"]
    assert list(first) == ["id", "kind", "procedures", "condition_codes", "lines", "notes"]
    assert first["procedures"] == ["XW033H7"]
    assert first["condition_codes"] == ["30"]
    assert first["notes"] == ["Expand Acc Use"]
    line = first["lines"][0]
    assert list(line) == ["revenue_code", "code", "modifiers", "charge", "units"]
    assert line["code"] == "38228" and line["revenue_code"] == "0891" and line["modifiers"] == ["Q1", "KX"]
    assert '"charge": 1500.00' in out and '"charge": 99.10' in out  # numbers kept as written
    assert second == {"id": "B", "kind": "professional", "lines": [{"code": "0540T", "charge": 99.1}]}


def test_apply_fixes_keeps_object_entries() -> None:
    text = b'{"kind": "institutional", "procedures": [{"code": "XW033H7", "date": "2021-09-10"}]}'
    fix = Fix(remove=[CodeRef(system="ICD-10-PCS", code="XW033H7")], add=[CodeRef(system="ICD-10-PCS", code="XW033C3")],
              safe=True)
    doc = json.loads(json_claims.apply_fixes(text, "f.json", {0: [fix]}))
    assert doc["procedures"] == [{"code": "XW033C3", "date": "2021-09-10"}]


def test_examples_validate_against_the_claim_schema() -> None:
    schema = load_schema("claim")
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) >= 4
    for path in files:
        jsonschema.validate(json.loads(path.read_text()), schema)
        assert all(isinstance(c, Claim) for c in json_claims.read(path.read_bytes(), str(path)))


def test_rule_case_claims_validate_against_the_claim_schema() -> None:
    from cartcode.checker._cases import load_cases
    from cartcode.checker._registry import all_rules

    schema = load_schema("claim")
    for spec in all_rules():
        for case in load_cases(spec):
            jsonschema.validate(json.loads(case.claim_json()), schema)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
_keys = st.sampled_from(sorted(json_claims.CLAIM_KEYS | {"lines"}))
_claimish = st.dictionaries(_keys, _json, max_size=8).map(lambda d: {"kind": "institutional", **d})


@settings(max_examples=300, deadline=None)
@given(st.lists(_claimish, max_size=3))
def test_any_claim_shaped_json_reads_or_fails_per_claim(claims: list[dict[str, object]]) -> None:
    results = list(json_claims.read(json.dumps({"claims": claims}).encode(), "h.json"))
    assert len(results) == len(claims)
    for index, result in enumerate(results):
        assert result.source.index == index
        if isinstance(result, ClaimError):
            assert result.location is not None and (result.location.path or "").startswith(f"$.claims[{index}]")
        else:
            check_claim(result)  # every rule copes with whatever the reader accepts


from claim_strategies import car_t_claim as _car_t_claim  # noqa: E402


@settings(max_examples=400, deadline=None)
@given(_car_t_claim)
def test_rules_cope_with_any_mix_of_car_t_codes(claim: dict[str, object]) -> None:
    (result,) = json_claims.read(json.dumps(claim).encode(), "h.json")
    assert isinstance(result, Claim)
    for finding in check_claim(result):
        assert finding.rule and finding.message
        assert finding.fix is None or finding.fix.remove or finding.fix.add
