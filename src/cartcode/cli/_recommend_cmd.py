"""`cartcode recommend`: encounter facts (JSON file, stdin or flags) -> the codes for the claim."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cartcode.errors import InputError

if TYPE_CHECKING:  # (the recommender is imported only when `recommend` runs: `check` starts faster)
    from rich.console import Console

    from cartcode.kb.loader import KB
    from cartcode.recommender._recommend import Answer, CodeItem


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def read_encounter_file(path: str) -> dict[str, Any]:
    """The encounter object from a file, or from stdin for `-`. Errors name the file and place."""
    name = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", where=name) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", where=name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", where=f"{name}: line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise InputError("the encounter must be a JSON object", where=f"{name}: $")
    return data


def bundled_kb() -> KB:
    """The bundled KB; a broken KB is reported like bad input (a message, exit 2), not a traceback."""
    from cartcode.kb.loader import KBError, load_kb

    try:
        return load_kb()
    except KBError as exc:
        raise InputError(f"the bundled knowledge base is invalid: {exc}") from None


def _bool_flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise InputError(f"expected true or false, got {value!r}", where=f"--{name}")


def register(app: typer.Typer) -> None:
    @app.command()
    def recommend(
        encounter: Annotated[str | None, typer.Argument(help="Encounter JSON file, or - for stdin.")] = None,
        setting: Annotated[str | None, typer.Option(help="inpatient | outpatient | professional")] = None,
        date: Annotated[str | None, typer.Option(help="Date of service, YYYY-MM-DD (inpatient: discharge).")] = None,
        product: Annotated[str | None, typer.Option(help="Name, HCPCS code, autologous or allogeneic.")] = None,
        route: Annotated[str | None, typer.Option(help="peripheral | central (both when absent).")] = None,
        payer: Annotated[str | None, typer.Option(help="medicare | medicare-advantage | medicaid | commercial")] = None,
        clinical_trial: Annotated[str | None, typer.Option(help="none | this-product | different-product")] = None,
        product_acquisition: Annotated[str | None, typer.Option(help="purchased | no-cost")] = None,
        expanded_access: Annotated[str | None, typer.Option(help="true | false")] = None,
        claim_form: Annotated[str | None, typer.Option(help="electronic | paper")] = None,
        place_of_service: Annotated[str | None, typer.Option(help="Professional: facility | office.")] = None,
        nct_number: Annotated[str | None, typer.Option(help="The trial's NCT number (value code D4).")] = None,
        charges: Annotated[float | None, typer.Option(help="Estimate: total covered charges ($).")] = None,
        wage_index: Annotated[float | None, typer.Option(help="Estimate: the hospital's wage index.")] = None,
        operating_ccr: Annotated[float | None, typer.Option(help="Estimate: operating cost-to-charge ratio.")] = None,
        capital_ccr: Annotated[float | None, typer.Option(help="Estimate: capital cost-to-charge ratio.")] = None,
        ime: Annotated[float | None, typer.Option(help="Estimate: IME operating adjustment factor.")] = None,
        dsh: Annotated[float | None, typer.Option(help="Estimate: DSH operating adjustment factor.")] = None,
        uncompensated_care: Annotated[float | None, typer.Option(help="Estimate: $ per discharge.")] = None,
        gpci: Annotated[float | None, typer.Option(help="Estimate (professional): one GPCI for all RVUs.")] = None,
        format: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = OutputFormat.text,
    ) -> None:
        """Recommend the codes for a CAR-T encounter: procedure, revenue, modifier, condition, value
        codes and billing notes, with payment facts, warnings and the source of every code."""
        from cartcode.recommender._recommend import recommend as run

        data: dict[str, Any] = read_encounter_file(encounter) if encounter else {}
        flags: dict[str, Any] = {
            "setting": setting, "date": date, "product": product, "route": route, "payer": payer,
            "clinical_trial": clinical_trial, "product_acquisition": product_acquisition,
            "expanded_access": _bool_flag(expanded_access, "expanded-access"), "claim_form": claim_form,
            "place_of_service": place_of_service, "nct_number": nct_number,
            "charges": charges, "wage_index": wage_index, "operating_ccr": operating_ccr, "capital_ccr": capital_ccr,
            "ime": ime, "dsh": dsh, "uncompensated_care": uncompensated_care, "gpci": gpci,
        }
        data.update({k: v for k, v in flags.items() if v is not None})  # flags override file fields
        answer = run(data, bundled_kb())
        if format == OutputFormat.json:
            typer.echo(json.dumps(answer.to_json(), indent=2))
        else:
            render_answer(answer)


def make_console() -> Console:
    """Wide enough for the tables when the output is a pipe or a file (rich would assume 80)."""
    import shutil

    from rich.console import Console

    width = shutil.get_terminal_size((140, 40)).columns if sys.stdout.isatty() else 140
    return Console(width=max(width, 100), soft_wrap=False, highlight=False)


def _host_of(mod: CodeItem, hosts: list[CodeItem]) -> CodeItem | None:
    """The CPT/HCPCS entry a modifier goes on: same line, same claim (a claimless modifier: any claim)."""
    for host in hosts:
        if mod.code in host.modifiers and mod.line == host.line and mod.claim in (None, host.claim):
            return host
    return None


def _code_row(code: CodeItem, on_line: str | None = None) -> tuple[str, str, str, str, str]:
    from rich.markup import escape

    extra = []
    if code.modifiers:
        extra.append("modifiers " + " ".join(code.modifiers))
    if code.units:
        extra.append(f"units {code.units}")
    if code.amount:
        extra.append(f"amount {code.amount}")
    claim = f"[{code.claim}] " if code.claim and on_line is None else ""
    use = claim + code.use + (f" [{'; '.join(extra)}]" if extra else "") + (" (optional)" if code.optional else "")
    label = code.confidence + (f"; descriptor {code.description_confidence}" if code.description_confidence else "")
    shown = f"  -{code.code} on {on_line}" if on_line else code.code
    cells = (shown, code.system, use, code.where or "", f"{', '.join(code.sources)} ({label})")
    return tuple(escape(cell) for cell in cells)  # type: ignore[return-value]  # "[units 1]" is not markup


def render_answer(answer: Answer) -> None:
    """The answer as a person reads it: a code table, then payment, notes, warnings and the KB edition."""
    from rich.table import Table

    console = make_console()
    enc = answer.encounter
    console.print(
        f"[bold]{enc['setting']}[/bold] {enc['date']}  {enc['product_name']} ({enc['cell_kind']})  "
        f"route: {enc.get('route') or 'both'}  payer: {enc['payer']}  trial: {enc['clinical_trial']}  "
        f"product: {enc['product_acquisition']}  expanded access: {enc['expanded_access']}  form: {enc['claim_form']}"
    )
    table = Table(title="Codes for the claim", show_lines=False, expand=False)
    table.add_column("code", no_wrap=True)
    table.add_column("system", no_wrap=True)
    table.add_column("what it is for", ratio=3, overflow="fold")
    table.add_column("where on the claim", ratio=2, overflow="fold")
    table.add_column("sources (confidence)", ratio=2, overflow="fold")
    # Each modifier is shown on its line: right under the CPT/HCPCS entry it goes on (same line and claim).
    hosts = [c for c in answer.codes if c.modifiers]
    placed: set[int] = set()
    for code in answer.codes:
        if code.system == "modifier" and _host_of(code, hosts) is not None:
            continue
        table.add_row(*_code_row(code))
        for mod in answer.codes:
            if mod.system == "modifier" and mod.code in code.modifiers and _host_of(mod, [code]) is code \
                    and id(mod) not in placed:
                placed.add(id(mod))
                table.add_row(*_code_row(mod, on_line=code.code))
    console.print(table)
    if answer.payment:
        console.print("[bold]Payment[/bold]")
        for pay in answer.payment:
            fy = f" {pay.fiscal_year}" if pay.fiscal_year else ""
            cited = f"[{', '.join(pay.sources)}; {pay.confidence}]"
            console.print(f"  {pay.system} {pay.code}{fy}: {pay.description}  {cited}", markup=False)
    if answer.notes:
        console.print("[bold]Notes[/bold]")
        for note in answer.notes:
            console.print(f"  - {note.message}  [{', '.join(note.sources)}]", markup=False)
    if answer.warnings:
        console.print("[bold yellow]Warnings[/bold yellow]")
        for warning in answer.warnings:
            if warning.facts:  # a grouped warning: one fact a line
                head = warning.message.split(": ", 1)[0]  # the head, with the count, names no fact
                console.print(f"  ! {head}  [{', '.join(warning.sources)}]", markup=False)
                for fact in warning.facts:
                    console.print(f"      - {fact}", markup=False)
            else:
                console.print(f"  ! {warning.message}  [{', '.join(warning.sources)}]", markup=False)
    render_estimate(console, answer.estimate)
    console.print(f"KB edition {answer.kb['edition']} (as of {answer.kb['as_of']})", markup=False)


def render_estimate(console: Console, estimate: dict[str, Any] | None) -> None:
    """The payment estimate: total, every component with its formula and sources, inputs, warnings."""
    if not estimate:
        return
    total = estimate.get("total")
    shown = f"${float(total):,.2f}" if total is not None else "no total"
    what = "" if estimate.get("complete") else " (partial: see below)" if total is not None else ""
    console.print(f"[bold]Medicare payment estimate[/bold] ({estimate.get('system')} {estimate.get('year') or ''}, "
                  f"{estimate.get('basis')}): {shown}{what}", highlight=False)
    for comp in estimate.get("components", []):
        console.print(f"  {comp['name']}: ${float(comp['amount']):,.2f}  [{', '.join(comp['sources'])}; "
                      f"{comp['confidence']}]", markup=False)
        console.print(f"      = {comp['formula']}", markup=False)
    inputs = "; ".join(f"{i['name']} {i['value']} ({i['origin']})" for i in estimate.get("inputs", []))
    console.print(f"  inputs: {inputs}", markup=False)
    for warning in estimate.get("warnings", []):
        console.print(f"  * {warning}", markup=False)
