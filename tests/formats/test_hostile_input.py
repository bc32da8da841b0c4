"""Hostile input (issue 14): every reader is total, within documented limits, and echoes no PHI.

Each test here failed on the code before issue 14's fixes (a traceback, a silent pass, a lost
claim, quadratic time or a quoted value)."""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import pytest

from cartcode.errors import InputError
from cartcode.findings import CodeRef, Fix
from cartcode.formats import _limits, read_claims
from cartcode.formats.fhir import _reader as fhir
from cartcode.formats.fhir import _writer as fhir_writer
from cartcode.formats.x12 import _reader as x12
from cartcode.model import Claim, ClaimError

ROOT = Path(__file__).resolve().parents[2]
X12_FILE = ROOT / "tests" / "fixtures" / "x12" / "cart-837i-inpatient.x12"
EOB = ROOT / "tests" / "fixtures" / "fhir" / "cart-eob-inpatient.json"
JSON_CLAIMS = ROOT / "examples" / "claims" / "outpatient-mistakes.json"


def _json_claim(**line: object) -> dict[str, object]:
    return {"kind": "professional", "id": "C1", "lines": [{"code": "0537T", **line}]}


# -- 1. depth, numbers, Unicode ------------------------------------------------------------------
def test_json_nested_100000_deep_is_an_input_error_naming_the_place() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(InputError) as err:
        list(read_claims(data, "deep.json"))
    assert "nested deeper than" in str(err.value) and "line 1 column" in str(err.value)
    assert "deep.json" in str(err.value)


def test_a_5000_level_fhir_bundle_is_a_located_error() -> None:
    level = b'{"resourceType": "Bundle", "entry": [{"resource": '
    data = level * 5000 + b'{"resourceType": "Bundle"}' + b"}]}" * 5000
    items = list(read_claims(data, "nest.json"))
    assert len(items) == 1 and isinstance(items[0], ClaimError)
    assert "nested deeper than" in items[0].error and "column" in items[0].error


def test_depth_limit_is_configurable() -> None:
    data = json.dumps(_json_claim()).encode()
    with _limits.use(max_json_depth=2), pytest.raises(InputError, match="nested deeper than 2"):
        list(read_claims(data, "c.json"))
    assert isinstance(next(iter(read_claims(data, "c.json"))), Claim)


def test_a_5000_digit_integer_fails_the_claim_with_its_path() -> None:
    text = json.dumps(_json_claim(units=0)).replace('"units": 0', '"units": ' + "9" * 5000)
    (item,) = read_claims(text.encode(), "big.json")
    assert isinstance(item, ClaimError) and item.location is not None
    assert item.location.path == "$.lines[0].units" and "out of range" in item.error
    assert "9999" not in item.error


@pytest.mark.parametrize("number", ["1e999", "12345678901234567890123", "-1e999"])
def test_infinite_and_23_digit_units_are_refused(number: str) -> None:
    text = json.dumps(_json_claim(units=0)).replace('"units": 0', f'"units": {number}')
    (item,) = read_claims(text.encode(), "n.json")
    assert isinstance(item, ClaimError) and item.location is not None
    assert item.location.path == "$.lines[0].units"


def test_x12_23_digit_units_fail_the_claim() -> None:
    data = X12_FILE.read_bytes()
    sv2 = data.index(b"SV2*")
    end = data.index(b"~", sv2)
    parts = data[sv2:end].split(b"*")
    parts[4] = b"UN"
    parts[5] = b"12345678901234567890123"
    bad = data[:sv2] + b"*".join(parts) + data[end:]
    items = list(x12.read(bad, "u.x12"))
    failed = [i for i in items if isinstance(i, ClaimError)]
    assert failed and failed[0].location is not None and failed[0].location.element == "SV205"


def test_fhir_infinite_quantity_is_a_refused_value_with_its_path() -> None:
    doc = json.loads(EOB.read_text())
    doc["item"][0]["quantity"] = {"value": 0}
    text = json.dumps(doc).replace('"quantity": {"value": 0}', '"quantity": {"value": 1e999}')
    (claim,) = read_claims(text.encode(), "q.json")
    assert isinstance(claim, Claim) and claim.lines[0].units is None
    refused = [n for n in claim.input_notes if n.rule == "FHIR-CODE" and n.loc and n.loc.path
               and n.loc.path.endswith("item[0].quantity.value")]
    assert refused and "not a usable number" in refused[0].message


def test_fhir_5000_digit_number_does_not_fail_the_file() -> None:
    doc = json.loads(EOB.read_text())
    doc["item"][0]["quantity"] = {"value": 0}
    text = json.dumps(doc).replace('"quantity": {"value": 0}', '"quantity": {"value": ' + "7" * 5000 + "}")
    (claim,) = read_claims(text.encode(), "q.json")
    assert isinstance(claim, Claim) and claim.lines[0].units is None


def test_a_lone_surrogate_does_not_break_the_fhir_fix_writer() -> None:
    doc = json.loads(EOB.read_text())
    doc["id"] = "\ud800X"
    data = json.dumps(doc).encode()  # ASCII, with the \\ud800 escape a hostile file carries
    (claim,) = read_claims(data, "s.json")
    assert isinstance(claim, Claim)
    code = claim.diagnoses[0].code
    fix = Fix(safe=True, remove=[CodeRef(system="ICD-10-CM", code=code)], add=[])
    out = fhir_writer.apply_fixes(data, "s.json", {0: [fix]})
    assert json.loads(out)["id"] == "\ud800X"


def test_a_lone_surrogate_does_not_break_the_json_fix_writer() -> None:
    from cartcode.formats import _json

    doc = _json_claim()
    doc["id"] = "\ud800"
    fix = Fix(safe=True, remove=[CodeRef(system="CPT", code="0537T")],
              add=[CodeRef(system="HCPCS", code="Q2041")], line=1)
    out = _json.apply_fixes(json.dumps(doc).encode(), "s.json", {0: [fix]})
    assert json.loads(out)["id"] == "\ud800"


# -- 1. FHIR that holds no claim -----------------------------------------------------------------
@pytest.mark.parametrize(
    "doc",
    [
        {"resourceType": 5},
        {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Secret"]}]},
        {"resourceType": "Bundle", "entry": "not a list"},
        {"resourceType": "Bundle", "entry": []},
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]},
    ],
)
def test_fhir_without_any_claim_is_an_input_error(doc: dict[str, object]) -> None:
    with pytest.raises(InputError) as err:
        list(read_claims(json.dumps(doc).encode(), "none.json"))
    assert "no Claim or ExplanationOfBenefit" in str(err.value) and "Secret" not in str(err.value)


def test_a_bad_bundle_entry_next_to_a_claim_is_a_failed_entry_in_its_place() -> None:
    eob = json.loads(EOB.read_text())
    bundle = {"resourceType": "Bundle", "entry": ["junk", {"resource": eob}, {"resource": {"resourceType": 7}}]}
    data = json.dumps(bundle).encode()
    items = list(read_claims(data, "b.json"))
    assert [type(i).__name__ for i in items] == ["ClaimError", "Claim", "ClaimError"]
    assert [i.source.index for i in items] == [0, 1, 2]
    assert items[0].location is not None and items[0].location.path == "Bundle.entry[0]"
    assert items[2].location is not None and items[2].location.path == "Bundle.entry[2].resource"
    # the writer numbers entries as the reader does: a fix of claim 1 lands on the EOB
    assert isinstance(items[1], Claim)
    code = items[1].diagnoses[0].code
    fix = Fix(safe=True, remove=[CodeRef(system="ICD-10-CM", code=code)], add=[])
    out = json.loads(fhir_writer.apply_fixes(data, "b.json", {1: [fix]}))
    assert len(out["entry"][1]["resource"]["diagnosis"]) == len(eob["diagnosis"]) - 1


@pytest.mark.parametrize("data", [b"", b"   \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_the_same_clear_error_everywhere(data: bytes) -> None:
    with pytest.raises(InputError, match="empty"):
        list(read_claims(data, "e.json"))
    with pytest.raises(InputError, match="empty"):
        list(fhir.read(data, "e.json"))
    from cartcode.formats import _json

    with pytest.raises(InputError, match="empty"):
        list(_json.read(data, "e.json"))


def test_ndjson_line_limit_fails_that_line_alone() -> None:
    line = json.dumps(json.loads(EOB.read_text())).encode()
    data = line + b"\n" + line + b"\n"
    with _limits.use(max_ndjson_line_bytes=len(line) - 1):
        items = list(read_claims(data, "n.ndjson"))
    assert all(isinstance(i, ClaimError) and "NDJSON line limit" in i.error for i in items) and len(items) == 2


# -- 1. no PHI in findings or messages -------------------------------------------------------------
def test_fhir_model_warnings_do_not_quote_a_contained_patients_name() -> None:
    doc = json.loads(EOB.read_text())
    doc["contained"] = [{"resourceType": "Patient", "id": "pt", "name": [{"given": "Zebulon Quartermaine"}],
                         "birthDate": "not-a-date-Quartermaine"}]
    (claim,) = read_claims(json.dumps(doc).encode(), "phi.json")
    assert isinstance(claim, Claim)
    model = [n for n in claim.input_notes if n.rule == "FHIR-MODEL"]
    assert model, "the bad Patient is reported"
    assert not [n.message for n in model if "Zebulon" in n.message or "Quartermaine" in n.message]


def test_json_errors_do_not_quote_claim_values() -> None:
    doc = _json_claim()
    doc["statement_from"] = "Zebulon 1970-01-01"
    doc["lines"] = [{"code": "0537T", "units": "Quartermaine"}]
    (item,) = read_claims(json.dumps(doc).encode(), "phi.json")
    assert isinstance(item, ClaimError) and "Zebulon" not in item.error
    doc.pop("statement_from")
    (item,) = read_claims(json.dumps(doc).encode(), "phi.json")
    assert isinstance(item, ClaimError) and "Quartermaine" not in item.error


# -- 2. X12 resynchronises at the next good ISA -----------------------------------------------------
def _interchanges(count: int) -> tuple[list[bytes], int]:
    """`count` copies of the fixture's interchange (the CLMs in one)."""
    one = X12_FILE.read_bytes().strip()
    return [one] * count, len(re.findall(rb"~\s*CLM\*", one))


def test_a_damaged_isa_fails_only_its_own_interchange() -> None:
    parts, per = _interchanges(12)
    parts[6] = b"ISA#" + parts[6][4:]  # interchange 7 of 12: an element separator that is data
    data = b"\n".join(parts) + b"\n"
    items = list(x12.read(data, "r.x12"))
    claims = [i for i in items if isinstance(i, Claim)]
    failed = [i for i in items if isinstance(i, ClaimError)]
    assert len(claims) == 11 * per
    assert len(failed) == 1 and f"; {per} CLM segment(s) after it not read" in failed[0].error
    with io.BytesIO(data) as fh:
        streamed = [(type(i).__name__, i.source.index) for i in x12.read_stream(fh, "r.x12", block_size=300)]
    assert streamed == [(type(i).__name__, i.source.index) for i in items]


def test_a_damaged_isa_without_line_breaks_is_resynchronised_too() -> None:
    parts, per = _interchanges(4)
    parts[1] = parts[1][:3] + b"A" + parts[1][4:]  # no element separator: the ISA cannot be read
    items = list(x12.read(b"".join(parts), "r.x12"))
    assert sum(isinstance(i, Claim) for i in items) == 3 * per  # the good interchanges are read
    (failed,) = [i for i in items if isinstance(i, ClaimError)]
    assert failed.id is None and f"{per} CLM segment(s) after it not read" in failed.error
    assert failed.location is not None and failed.location.segment_id == "ISA"


def test_a_duplicated_iea_loses_no_claim() -> None:
    parts, per = _interchanges(3)
    first = parts[0]
    iea = first[first.rindex(b"IEA*") :]
    parts[0] = first + b"\n" + iea
    items = list(x12.read(b"\n".join(parts), "d.x12"))
    assert [type(i) for i in items] == [Claim] * (3 * per)
    notes = [n.message for i in items if isinstance(i, Claim) for n in i.input_notes]
    assert any("expected an ISA segment" in m for m in notes)


# -- 2. the maximum segment length ----------------------------------------------------------------
def test_an_unterminated_segment_streams_in_linear_time() -> None:
    head = X12_FILE.read_bytes()
    cut = head.rindex(b"\nSE*") + 1
    # 8 MB of "HL*" with no terminator: every block used to rescan the whole tail (minutes)
    data = head[:cut] + b"NTE*" + b"HL*1**22*1 " * ((8 << 20) // 11)
    with _limits.use(max_segment_bytes=1 << 16):
        began = time.monotonic()
        items = list(x12.read_stream(io.BytesIO(data), "u.x12", block_size=1 << 16))
        took = time.monotonic() - began
    assert items and took < 6, took
    failed = [i for i in items if isinstance(i, ClaimError)]
    assert failed and "longer than the maximum segment length" in failed[-1].error


def test_the_segment_limit_fails_the_claim_that_holds_the_segment() -> None:
    data = X12_FILE.read_bytes()
    nte = data.index(b"\nHI*") + 1
    long = data[:nte] + b"NTE*ADD*" + b"A" * 5000 + b"~" + data[nte:]
    with _limits.use(max_segment_bytes=4096):
        items = list(x12.read(long, "l.x12"))
    assert any(isinstance(i, ClaimError) and "maximum segment length (4096" in i.error for i in items)
    assert all(isinstance(i, Claim) for i in x12.read(long, "l.x12"))


# -- 3. limits from the environment ----------------------------------------------------------------
def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTCODE_MAX_JSON_DEPTH", "7")
    monkeypatch.setenv("CARTCODE_ALLOW_SPECIAL_FILES", "yes")
    limits = _limits.from_env()
    assert limits.max_json_depth == 7 and limits.allow_special_files
    assert limits.max_input_bytes == _limits.DEFAULTS.max_input_bytes
    monkeypatch.setenv("CARTCODE_MAX_SEGMENT_BYTES", "lots")
    with pytest.raises(InputError, match="CARTCODE_MAX_SEGMENT_BYTES"):
        _limits.from_env()


def test_every_limit_has_an_environment_variable_documented() -> None:
    doc = (ROOT / "docs" / "security.md").read_text()
    for name, env in _limits.ENV.items():
        assert name in _limits.__doc__ and env in _limits.__doc__  # type: ignore[operator]
        assert env in doc, env
    assert os.environ.get("CARTCODE_MAX_JSON_DEPTH") is None
