"""The engine API other front ends call: check_claim, check, check_files, fix."""

from __future__ import annotations

import json
from pathlib import Path

from cartcode.checker import _engine as engine
from cartcode.findings import Finding
from cartcode.formats import _json as json_claims
from cartcode.kb.loader import KB
from cartcode.model import Claim, ClaimSource, InputNote, Location
from model_types import check_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "claims"


def _claims() -> list[Claim]:
    out: list[Claim] = []
    for path in sorted(EXAMPLES.glob("*.json")):
        out.extend(c for c in json_claims.read(path.read_bytes(), str(path)) if isinstance(c, Claim))
    return out


def test_claims_read_hold_values_of_their_declared_types() -> None:
    for claim in _claims():
        check_model(claim)


def test_findings_hold_values_of_their_declared_types_and_read_back(kb: KB) -> None:
    seen = 0
    for claim in _claims():
        for finding in engine.check_claim(claim, kb):
            seen += 1
            check_model(finding)
            again = Finding.from_json(finding.to_json())
            assert again == finding and again.to_json() == finding.to_json()
    assert seen >= 10


def test_check_claim_is_sorted_and_deterministic(kb: KB) -> None:
    for claim in _claims():
        first = engine.check_claim(claim, kb)
        assert [f.to_json() for f in first] == [f.to_json() for f in engine.check_claim(claim, kb)]
        assert first == sorted(first, key=engine.sort_key)


def test_check_accepts_bytes_text_and_paths(kb: KB) -> None:
    path = EXAMPLES / "outpatient-mistakes.json"
    by_path = engine.check(path, kb=kb)
    by_bytes = engine.check(path.read_bytes(), filename=str(path), kb=kb)
    by_text = engine.check(path.read_text(), filename=str(path), kb=kb)
    assert by_path.to_json() == by_bytes.to_json() == by_text.to_json()
    assert by_path.kb.edition == kb.edition
    assert [c.source.index for c in by_path.claims] == [0, 1, 2]


def test_check_files_keeps_file_and_claim_order(kb: KB) -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    report = engine.check_files(files, kb=kb)
    files_seen = [c.source.file for c in report.claims]
    assert files_seen[0] == str(files[0]) and files_seen[-1] == str(files[-1])
    assert len(report.claims) == sum(len(list(json_claims.read(f.read_bytes(), str(f)))) for f in files)
    assert report.exit_code == 1


def test_a_claim_error_is_a_failed_result_and_exit_1(kb: KB) -> None:
    data = json.dumps({"claims": [{"kind": "professional"}, {"kind": "nope"}]})
    report = engine.check(data, filename="x.json", kb=kb)
    assert [c.status for c in report.claims] == ["checked", "failed"]
    assert report.claims[1].error and "$.claims[1].kind" in report.claims[1].error
    assert report.exit_code == 1
    clean = engine.check(json.dumps({"kind": "professional"}), kb=kb)
    assert clean.exit_code == 0


def test_reader_notes_are_reported_as_findings(kb: KB) -> None:
    claim = Claim(
        id="n", kind="professional", source=ClaimSource(file="x", index=0),
        input_notes=[InputNote(rule="X12-ENVELOPE", message="SE count wrong", loc=Location(segment=9))],
    )
    (finding,) = engine.check_claim(claim, kb)
    assert finding.rule == "X12-ENVELOPE" and finding.location == {"segment": 9}


def test_fix_applies_only_safe_fixes(kb: KB) -> None:
    path = EXAMPLES / "professional-claims.json"
    report = engine.check(path, kb=kb)
    fixed = engine.fix(path, None, report)
    doc = json.loads(fixed)
    assert doc["claims"][0]["lines"][0]["modifiers"] == ["KX"]  # CART401, safe
    assert doc["claims"][1]["lines"][0]["modifiers"] == ["KX"]  # CART402 is unsafe: kept
    assert doc["claims"][2]["lines"][0]["code"] == "38228"  # CART204 is unsafe: kept
    again = engine.check(fixed, filename=str(path), kb=kb)
    assert not any(f.rule == "CART401" for c in again.claims for f in c.findings)
    clean = EXAMPLES / "outpatient-carvykti-clean.json"
    assert engine.fix(clean, None, engine.check(clean, kb=kb)) == clean.read_bytes()


def test_report_round_trips_through_json(kb: KB) -> None:
    report = engine.check_files(sorted(EXAMPLES.glob("*.json")), kb=kb)
    check_model(report)
    again = json.loads(json.dumps(report.to_json()))
    assert again == report.to_json()
    assert [[Finding.from_json(f) for f in c["findings"]] for c in again["claims"]] == [
        c.findings for c in report.claims
    ]


def test_the_fast_shape_check_agrees_with_codeformat(kb: KB) -> None:
    from cartcode._codeformat import is_well_formed
    from cartcode.checker.rules.codes import cart001_malformed_code as c001
    from cartcode.model import Claim, ClaimSource, Coded, Line

    samples = {row.code for row in kb.codes} | {
        "XW043NO", "3822", "Z006", "Z00.", "Z00.12345", "0874 ", "87", "K", "KXX", "Q20541", "W2041", "0540X", "38228",
        "A0", "C83.38", "c83.38", "XW033I7", "",
    }
    places = {"ICD-10-CM": "diagnoses", "ICD-10-PCS": "procedures", "condition": "condition_codes",
              "value": "value_codes", "occurrence": "occurrence_codes", "MS-DRG": "drg", "revenue": "revenue_code",
              "CPT": "procedure", "HCPCS": "procedure", "modifier": "modifiers", "ICD-9-CM": "diagnoses",
              "X12-ZZ": "procedure"}
    for system, place in places.items():
        for code in samples:
            item = Coded(system=system, code=code)
            claim = Claim(id="c", kind="institutional", source=ClaimSource(file="f", index=0))
            line = Line(number=1)
            if place == "drg":
                claim.drg = item
            elif place in ("revenue_code", "procedure"):
                setattr(line, place, item)
                claim.lines = [line]
            elif place == "modifiers":
                line.modifiers = [item]
                claim.lines = [line]
            else:
                setattr(claim, place, [item])
            expected = system not in c001._SHAPES or is_well_formed(system, code)
            assert c001._all_good(claim) == expected, (system, code)
            assert c001._all_good(claim) == expected, (system, code)  # cached answer


from hypothesis import given, settings  # noqa: E402

from cartcode.checker._context import Ctx, build_finding, index_for  # noqa: E402
from cartcode.checker._registry import all_rules  # noqa: E402
from cartcode.kb.loader import load_kb  # noqa: E402
from claim_strategies import car_t_claim as _car_t_claim  # noqa: E402


@settings(max_examples=500, deadline=None)
@given(_car_t_claim)
def test_trigger_gating_never_hides_a_finding(data: dict[str, object]) -> None:
    """The engine skips rules whose `needs` / `unless` triggers say they cannot fire: running every
    rule of the setting must give the same findings."""
    kb = load_kb()
    (claim,) = json_claims.read(json.dumps(data).encode(), "g.json")
    assert isinstance(claim, Claim)
    ctx = Ctx(claim, kb, index_for(kb))
    every = [build_finding(r, hit) for r in all_rules() if ctx.setting in r.settings for hit in r.func(ctx)]
    every.sort(key=engine.sort_key)
    assert [f.to_json() for f in engine.check_claim(claim, kb)] == [f.to_json() for f in every]


def test_location_dict_is_location_as_dict() -> None:
    from cartcode.checker._context import location_dict

    for loc in (Location(file="f", path="$.lines[0].code"), Location(segment=12, loop="2400", element="SV202-2"),
                Location(), None):
        assert location_dict(loc) == (loc.as_dict() if loc is not None else {})


def test_blocks_of_claims_get_each_claims_own_answer(kb: KB, tmp_path: Path) -> None:
    """evaluate_contexts (the batch checks claims a block at a time: contexts, then every grouping,
    then every MCE, then the rules) gives each claim what evaluate_claim gives it alone, with grouping
    on and off, whole or headline estimates: on the examples and on synthetic 837I stays (CAR-T and
    ordinary, small and large: grouped, MCE-edited, estimated) and CAR-T 837P claims."""
    import sys

    from cartcode.formats import read_claims

    root = Path(__file__).resolve().parents[2]
    if str(root) not in sys.path:  # bench/ holds the synthetic claim generators
        sys.path.insert(0, str(root))
    from bench import synth837, synth837i

    claims = _claims()
    files = [synth837i.write(tmp_path / "small.837", 40, seed=3, size="small"),
             synth837i.write(tmp_path / "large.837", 40, seed=4, size="large", cart_fraction=0.5),
             synth837.write(tmp_path / "prof.837", 30, cart_fraction=1.0)]
    for path in files:
        claims.extend(c for c in read_claims(path.read_bytes(), path.name) if isinstance(c, Claim))
    assert len(claims) > 100 and sum(c.setting == "inpatient" for c in claims) > 60

    def as_json(answer: object) -> object:
        assert not isinstance(answer, Exception), answer
        return answer

    for grouping in (True, False):
        for parts in (True, False):
            block = engine.evaluate_contexts(claims, kb, grouping=grouping, estimate_parts=parts)
            alone = [engine.evaluate_claim(c, kb, grouping=grouping, estimate_parts=parts) for c in claims]
            assert [as_json(a) for a in block] == [as_json(a) for a in alone], (grouping, parts)
    grouped = engine.evaluate_contexts(claims, kb)
    assert sum(1 for a in grouped if not isinstance(a, Exception) and a[1] is not None) > 60


def test_a_claim_that_breaks_the_rules_fails_alone_in_its_block(kb: KB) -> None:
    """A claim the engine cannot evaluate (here: a line that is not a Line) is its block's only
    failure: the exception in its place, every other claim answered as alone."""
    claims = _claims()
    import dataclasses

    broken = dataclasses.replace(claims[0], id="BROKEN", lines=[object()])
    mixed = [*claims[:2], broken, *claims[2:]]
    answers = engine.evaluate_contexts(mixed, kb)
    assert isinstance(answers[2], Exception)
    others = [a for i, a in enumerate(answers) if i != 2]
    assert not any(isinstance(a, Exception) for a in others)
    assert [a[0] for a in others] == [engine.evaluate_claim(c, kb)[0] for c in claims]  # type: ignore[index]
