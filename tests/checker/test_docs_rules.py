"""docs/rules.md is generated from the rules; it must match what the generator writes now."""

from __future__ import annotations

from pathlib import Path

from cartcode.checker._docgen import render_markdown
from cartcode.checker._registry import all_rules
from cartcode.kb.loader import KB

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rules_md_is_up_to_date(kb: KB) -> None:
    expected = render_markdown(kb)
    assert DOC.exists(), "docs/rules.md is missing: python -m cartcode.checker._docgen > docs/rules.md"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/rules.md is out of date: run `python -m cartcode.checker._docgen > docs/rules.md`"
    )


def test_rules_md_documents_every_rule_and_the_seed_notes(kb: KB) -> None:
    text = render_markdown(kb)
    for spec in all_rules():
        assert f"## {spec.id} {spec.name}" in text
    for marker in ("Footnote 1", "Footnote 2", "Footnote 3", "Footnote 4", "Footnote 5", "Note 1", "Note 2"):
        assert marker in text, marker
    assert "out of scope:" in text
