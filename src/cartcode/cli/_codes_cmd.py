"""`cartcode codes CODE|QUERY`: everything the KB knows about a code, or a search of descriptions
and product names."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from cartcode._codeformat import is_well_formed, normalise
from cartcode.errors import InputError
from cartcode.kb.loader import KB
from cartcode.kb.schema import CodeRow, Product, Status


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def lookup_code(kb: KB, text: str) -> list[CodeRow]:
    """Rows of every system in which `text` is a known code (e.g. "018" is an MS-DRG; "0874" revenue)."""
    rows: list[CodeRow] = []
    for system in sorted({row.system for row in kb.codes}):
        if system == "note":
            found = [r for r in kb.codes if r.system == "note" and r.code.casefold() == text.strip().casefold()]
            rows.extend(found)
            continue
        candidate = normalise(system, text)
        if is_well_formed(system, candidate):
            rows.extend(kb.code_rows(system, candidate))
    return rows


def search(kb: KB, query: str) -> tuple[list[CodeRow], list[Product]]:
    """Codes whose description, role or note contains every word of the query; products by name."""
    words = query.casefold().split()
    products: list[Product] = []
    exact = kb.product(query)
    for product in kb.products:
        names = " ".join(n for n in (product.id, product.generic, product.brand, *product.aliases) if n).casefold()
        if product is exact or all(w in names for w in words):
            products.append(product)
    product_ids = {p.id for p in products}
    rows = []
    for row in kb.codes:
        hay = " ".join(x for x in (row.description, row.role or "", row.note or "") if x).casefold()
        if all(w in hay for w in words) or (row.product in product_ids and row.product is not None):
            rows.append(row)
    return rows, products


def _status_json(status: Status) -> dict[str, Any]:
    return {
        "kind": status.kind, "value": status.value, "description": status.description,
        "effective_from": _iso(status.effective_from), "effective_to": _iso(status.effective_to),
        "sources": status.sources, "confidence": status.confidence,
    }


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None


def row_json(kb: KB, row: CodeRow) -> dict[str, Any]:
    data: dict[str, Any] = {
        "system": row.system, "code": row.code, "description": row.description,
        "effective_from": _iso(row.effective_from), "effective_to": _iso(row.effective_to),
        "role": row.role, "product": row.product, "cell_kind": row.cell_kind, "route": row.route,
        "new_technology_group": row.nt_group, "predecessors": row.predecessors, "successors": row.successors,
        "statuses": [_status_json(s) for s in row.statuses],
        "sources": [{"id": s, "title": kb.source(s).title} for s in row.sources],
        "confidence": row.confidence, "date_confidence": row.date_confidence,
        "description_confidence": row.description_confidence, "note": row.note,
        "recommended_by": used_by(kb, row),
    }
    return {k: v for k, v in data.items() if v not in (None, [])}


def used_by(kb: KB, row: CodeRow) -> list[str]:
    """The recommend decisions that name this code (literally, or through the selector that picks it)."""
    selectors = {"admin": ["pcs-admin", "admin-cpt"], "product": ["product-hcpcs"],
                 "collection": ["prep-cpt"], "processing": ["prep-cpt"], "receipt": ["prep-cpt"],
                 "car-t": ["drg"], "pre-drg018": ["drg"]}
    picked_by = set(selectors.get(row.role or "", []))
    if row.system == "ICD-10-PCS":
        picked_by &= {"pcs-admin"}
    elif row.system == "CPT":
        picked_by -= {"pcs-admin"}
    out: list[str] = []
    for decision in kb.decisions:
        for emit in decision.emit:
            literal = emit.system == row.system and emit.code == row.code
            selected = emit.select in picked_by and (emit.select != "prep-cpt" or emit.param == row.role)
            if (literal or selected) and decision.id not in out:
                out.append(decision.id)
    return out


def product_json(kb: KB, product: Product) -> dict[str, Any]:
    codes = [f"{r.system} {r.code}" for r in kb.codes if r.product == product.id]
    return {
        "id": product.id, "generic": product.generic, "brand": product.brand, "aliases": product.aliases,
        "cell_kind": product.cell_kind, "codes": codes,
        "sources": [{"id": s, "title": kb.source(s).title} for s in product.sources], "confidence": product.confidence,
    }


def codes_answer(kb: KB, query: str) -> dict[str, Any]:
    """The JSON answer of `cartcode codes`; InputError when nothing is found."""
    query = query.strip()
    if not query:  # CONTRACT: `cartcode codes [CODE | QUERY]`: no argument lists the whole KB
        return {"kb": kb.stamp(), "query": "", "match": "all", "codes": [row_json(kb, r) for r in kb.codes],
                "products": [product_json(kb, p) for p in kb.products]}
    rows = lookup_code(kb, query)
    products: list[Product] = []
    mode = "code"
    if not rows:
        mode = "search"
        rows, products = search(kb, query)
    if not rows and not products:
        raise InputError(f"nothing in the KB matches {query!r} (no code, description or product name)",
                         where="CODE|QUERY")
    return {"kb": kb.stamp(), "query": query, "match": mode, "codes": [row_json(kb, r) for r in rows],
            "products": [product_json(kb, p) for p in products]}


def _period(data: dict[str, Any]) -> str:
    return f"{data.get('effective_from') or 'open'} .. {data.get('effective_to') or 'open'}"


def render(answer: dict[str, Any]) -> None:
    from rich.table import Table

    from cartcode.cli._recommend_cmd import make_console

    console = make_console()
    for product in answer["products"]:
        names = ", ".join(n for n in (product["brand"], product["generic"], *product["aliases"]) if n)
        console.print(f"[bold]Product {product['id']}[/bold] ({product['cell_kind']}): {names}", highlight=False)
        if product["codes"]:
            console.print(f"  codes: {', '.join(product['codes'])}", markup=False)
    if answer["codes"]:
        title = f"KB rows for {answer['query']!r}" if answer["query"] else "Every code in the KB"
        table = Table(title=title)
        table.add_column("code", no_wrap=True)
        table.add_column("system", no_wrap=True)
        table.add_column("period", no_wrap=True)
        table.add_column("description / links / statuses", ratio=4, overflow="fold")
        table.add_column("sources (confidence)", ratio=2, overflow="fold")
        for row in answer["codes"]:
            descriptor = f" (descriptor {row['description_confidence']})" if row.get("description_confidence") else ""
            parts = [row["description"] + descriptor]
            if row.get("predecessors"):
                parts.append("predecessors: " + ", ".join(row["predecessors"]))
            if row.get("successors"):
                parts.append("successors: " + ", ".join(row["successors"]))
            for status in row.get("statuses", []):
                parts.append(f"{status['kind']} {status['value']} ({_period(status)}; {status['confidence']})")
            if row.get("note"):
                parts.append(f"note: {row['note']}")
            if row.get("recommended_by"):
                parts.append("recommend decisions: " + ", ".join(row["recommended_by"]))
            sources = "; ".join(f"{s['id']}: {s['title']}" for s in row["sources"])
            label = row["confidence"] + (f", dates {row['date_confidence']}" if row.get("date_confidence") else "") \
                + (f", descriptor {row['description_confidence']}" if row.get("description_confidence") else "")
            table.add_row(row["code"], row["system"], _period(row), "\n".join(parts), f"{sources} ({label})")
        console.print(table)
    console.print(f"KB edition {answer['kb']['edition']} (as of {answer['kb']['as_of']})", markup=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def codes(
        query: Annotated[str, typer.Argument(help="A code (0540T, XW043N7, 0874, 018) or words to search; "
                                                   "none lists every code.")] = "",
        format: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = OutputFormat.text,
    ) -> None:
        """Everything the KB knows about a code: periods, descriptions, predecessors and successors,
        statuses, sources and confidence. A query that is not a code searches descriptions and names."""
        from cartcode.cli._recommend_cmd import bundled_kb

        answer = codes_answer(bundled_kb(), query)
        if format == OutputFormat.json:
            typer.echo(json.dumps(answer, indent=2))
        else:
            render(answer)
