"""`cartcode rules [RULE]`: the rule catalogue, or one rule's full documentation."""

from __future__ import annotations

import difflib
import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from cartcode.errors import InputError


class RulesFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def rule_json(spec: Any) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": spec.name,
        "severity": spec.severity.value,
        "family": spec.family,
        "settings": sorted(spec.settings),
        "summary": spec.summary,
        "sources": list(spec.sources),
        "sections": spec.sections(),
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def rules(
        rule: Annotated[
            str | None, typer.Argument(help="A rule id (CART101) or name (code-outside-valid-period).")
        ] = None,
        format: Annotated[RulesFormat, typer.Option("--format", help="text, json or markdown")] = RulesFormat.text,
    ) -> None:
        """List the rules `check` runs, or print one rule's documentation with its examples."""
        from cartcode.checker._docgen import render_markdown, render_rule_markdown
        from cartcode.checker._registry import all_rules, get_rule
        from cartcode.cli._recommend_cmd import make_console
        from cartcode.kb.loader import load_kb

        kb = load_kb()
        if rule is None:
            specs = all_rules()
            if format == RulesFormat.json:
                doc = {"kb": kb.stamp(), "rules": [rule_json(s) for s in specs]}
                sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            elif format == RulesFormat.markdown:
                sys.stdout.write(render_markdown(kb))
            else:
                from rich.table import Table

                table = Table(title=f"cartcode rules (KB edition {kb.edition})")
                for column in ("id", "name", "severity", "settings", "what it checks"):
                    table.add_column(column, overflow="fold")
                for s in specs:
                    table.add_row(s.id, s.name, s.severity.value, ", ".join(sorted(s.settings)), s.summary)
                make_console().print(table)
            return
        spec = get_rule(rule)
        if spec is None:
            keys = [s.id for s in all_rules()] + [s.name for s in all_rules()]
            close = difflib.get_close_matches(rule.strip(), keys, n=4, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else "; `cartcode rules` lists them"
            raise InputError(f"unknown rule {rule!r}{hint}", where="rules")
        if format == RulesFormat.json:
            sys.stdout.write(json.dumps(rule_json(spec), indent=2) + "\n")
        else:
            sys.stdout.write(render_rule_markdown(spec, kb))
