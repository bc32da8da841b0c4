"""Issue 13, item 3: warnings a coder reads. Weak-evidence notices come as one warning listing the
facts; horizon, disagreeing sources, unverified, missing-code and proposed-only stay separate."""

from __future__ import annotations

from typing import Any

from cartcode.recommender._recommend import Answer, recommend

SEPARATE = {"horizon", "sources-disagree", "unverified", "missing-code", "proposed-only"}


def run(**facts: Any) -> Answer:
    return recommend({"payer": "medicare", **facts})


def kinds(answer: Answer) -> list[str | None]:
    return [w.kind for w in answer.warnings]


def test_seed_window_inpatient_yescarta_has_at_most_four_warnings() -> None:
    answer = run(setting="inpatient", date="2025-04-15", product="Yescarta")
    problems = {w.kind for w in answer.warnings}
    assert len(answer.warnings) <= 4  # was 8-10, most of them one per V-secondary fact
    assert len(answer.warnings) >= len(problems)  # never fewer than the distinct problems
    assert kinds(answer).count("weak-evidence") == 1
    [weak] = [w for w in answer.warnings if w.kind == "weak-evidence"]
    assert weak.facts is not None and len(weak.facts) >= 5
    for fact in ("revenue 0874", "revenue 0891", "value 86", "MS-DRG 018"):
        assert any(fact in line for line in weak.facts), fact
        assert fact in weak.message
    assert weak.confidence == "V-secondary" and weak.sources


def test_no_old_per_fact_kinds_remain() -> None:
    for facts in ({"setting": "inpatient", "date": "2025-04-15", "product": "Yescarta"},
                  {"setting": "professional", "date": "2024-03-01", "product": "Kymriah", "place_of_service": "office"},
                  {"setting": "outpatient", "date": "2025-03-01", "product": "Yescarta"}):
        answer = run(**facts)
        assert not {"confidence", "weak-date"} & set(kinds(answer))
        assert kinds(answer).count("weak-evidence") <= 1


def test_weak_dates_and_policies_are_facts_of_the_one_warning() -> None:
    answer = run(setting="professional", date="2025-03-01", product="Yescarta")
    [weak] = [w for w in answer.warnings if w.kind == "weak-evidence"]
    assert weak.facts is not None
    assert any("kx-part-b-required" in f and "unverified" in f for f in weak.facts)
    assert any(f.startswith("the period of modifier KX") for f in weak.facts)
    assert weak.confidence == "unverified"  # the weakest label among the facts


def test_descriptor_labels_are_counted() -> None:
    answer = run(setting="outpatient", date="2025-03-01", product="Abecma")
    [weak] = [w for w in answer.warnings if w.kind == "weak-evidence"]
    assert weak.facts is not None and "the descriptor of HCPCS Q2055 (V-low)" in weak.facts


def test_unverified_codes_are_their_own_warning() -> None:
    answer = run(setting="inpatient", date="2025-03-01", product="Aucatzyl", route="central")
    unverified = [w for w in answer.warnings if w.kind == "unverified" and w.facts]
    assert len(unverified) == 1 and any("XW0438A" in f for f in unverified[0].facts or [])
    weak = [w for w in answer.warnings if w.kind == "weak-evidence"]
    assert all("XW0438A (" not in f for w in weak for f in w.facts or [])


def test_proposed_only_stays_separate_and_names_the_final_rule() -> None:
    answer = run(setting="inpatient", date="2027-03-01", product="Yescarta")
    proposed = [w for w in answer.warnings if w.kind == "proposed-only"]
    assert len(proposed) == 1 and proposed[0].decision == "ip-fy2027-final-rule-missing"
    assert "FY2027 IPPS final rule" in proposed[0].message
    assert kinds(answer).count("horizon") >= 1 and kinds(answer).count("weak-evidence") == 1
    assert len(answer.warnings) >= len(set(kinds(answer)))


def test_separate_kinds_are_not_merged() -> None:
    for facts in ({"setting": "outpatient", "date": "2025-03-01", "product": "Yescarta",
                   "product_acquisition": "no-cost"},
                  {"setting": "professional", "date": "2024-03-01", "product": "Aucatzyl"}):
        answer = run(**facts)
        separate = [w for w in answer.warnings if w.kind in SEPARATE]
        assert separate and all(w.facts is None or w.kind == "unverified" for w in separate)


def test_text_output_lists_the_facts_one_a_line(capsys: Any) -> None:
    from cartcode.cli._recommend_cmd import render_answer

    render_answer(run(setting="inpatient", date="2025-04-15", product="Yescarta"))
    out = capsys.readouterr().out
    warnings = out.split("Warnings", 1)[1]
    assert warnings.count("  ! ") == 1 and "      - revenue 0874 (V-secondary)" in warnings
