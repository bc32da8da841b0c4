"""The catalogue's own rules: unique ids and names, documented, cited, with good and bad cases."""

from __future__ import annotations

import re
from collections import Counter

from cartcode.checker._cases import load_cases
from cartcode.checker._docgen import load_coverage
from cartcode.checker._registry import DOC_HEADINGS, all_rules, get_rule, select_rules
from cartcode.kb.loader import KB

RULES = all_rules()


def test_there_are_rules_in_every_family() -> None:
    families = Counter(r.family for r in RULES)
    assert set(families) == {"codes", "product", "revenue", "modifiers", "inpatient", "trial", "units", "payer",
                             "grouping"}
    assert len(RULES) >= 25


def test_ids_and_names_are_unique_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    names = [r.name for r in RULES]
    assert len(set(ids)) == len(ids)
    assert len(set(names)) == len(names)
    for spec in RULES:
        assert re.fullmatch(r"CART\d{3}", spec.id), spec.id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", spec.name), spec.name
        # the module is named after the rule: <id>_<name>.py
        assert spec.path.stem == f"{spec.id.lower()}_{spec.name.replace('-', '_')}", spec.path


def test_every_docstring_has_the_fixed_headings() -> None:
    for spec in RULES:
        sections = spec.sections()
        assert spec.summary, spec.id
        assert list(sections) == list(DOC_HEADINGS), (spec.id, list(sections))
        assert all(text.strip() for text in sections.values()), spec.id


def test_every_rule_cites_known_sources(kb: KB) -> None:
    for spec in RULES:
        assert spec.sources, spec.id
        unknown = [s for s in spec.sources if s not in kb.sources]
        assert not unknown, (spec.id, unknown)
        refs = spec.sections()["References"]
        for source in spec.sources:
            assert source in refs, (spec.id, source)


def test_every_rule_has_good_and_bad_cases() -> None:
    for spec in RULES:
        cases = load_cases(spec)
        assert any(c.good for c in cases), f"{spec.id} has no good case"
        assert any(not c.good for c in cases), f"{spec.id} has no bad case"


def test_coverage_names_existing_rules_or_a_reason() -> None:
    cov = load_coverage()
    ids = {r.id for r in RULES}
    items = [*cov["seed"], *cov["facts"]]
    assert len(items) >= 30
    for item in items:
        assert item.get("rules") or item.get("out_of_scope"), item["id"]
        assert set(item.get("rules") or []) <= ids, item["id"]
    # every footnote and note of the seed table is in the map
    seed_ids = " ".join(i["id"] for i in cov["seed"])
    for marker in ("footnote-1", "footnote-2", "footnote-3", "footnote-4", "footnote-5", "note-1", "note-2"):
        assert marker in seed_ids, marker


def test_lookup_and_selection() -> None:
    spec = get_rule("CART101")
    assert spec is not None and get_rule("code-outside-valid-period") is spec and get_rule("cart101") is spec
    assert {r.id for r in select_rules(["CART4"])} == {r.id for r in RULES if r.id.startswith("CART4")}
    assert "CART101" not in {r.id for r in select_rules([], ["code-outside-valid-period"])}
    try:
        select_rules(["CART999"])
    except ValueError as exc:
        assert "CART999" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("unknown selector accepted")


def test_rules_find_their_codes_in_the_kb_by_role(kb: KB) -> None:
    from cartcode.checker._context import index_for

    k = index_for(kb).k
    # the seed's and facts.md's codes, found through the KB's roles rather than written in the rules
    assert (k.admin_rev, k.product_rev, k.gene_rev) == ("0874", "0891", "0892")
    assert k.prep_rev == {"collection": "0871", "processing": "0872", "receipt": "0873"}
    assert (k.kx, k.lu, set(k.trial_mods)) == ("KX", "LU", {"Q0", "Q1"})
    assert (k.trial_dx, k.trial_cc, k.trial_vc) == ("Z00.6", "30", "D4")
    assert (k.ea_cc, k.ea_note, k.diff_note, k.payer_only_cc, k.car_t_drg) == (
        "90", "Expand Acc Use", "Diff Prod Clin Trial", "ZC", "018"
    )


def test_rule_triggers_are_known() -> None:
    from cartcode.checker._context import TRIGGERS

    for spec in RULES:
        assert spec.needs <= TRIGGERS and spec.unless <= TRIGGERS, (spec.id, spec.needs, spec.unless)
