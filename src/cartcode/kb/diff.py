"""What changed between two KB editions (`cartcode kb diff OLD NEW`), for a coder reviewing an update.

Rows are compared by their key (codes: system and code; policies, decisions, sources, products: id;
review log: topic and date; payment rate tables: system and year; payment rates: their table's system
and year, the rate's name and its MS-DRG / APC / code / product). A key with several periods (a code,
a policy) pairs its rows by start date where it can, else in order; a changed period, descriptor,
label (confidence, date and descriptor labels), status, value or source list is one change with its
old and new value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from cartcode.kb.loader import KB
from cartcode.kb.schema import CodeRow, Dated, MissingRate, Policy, Rate, RateTable, Status

__all__ = ["diff_kbs"]

R = TypeVar("R", bound=BaseModel)

# The fields compared per row kind; "period" stands for effective_from / effective_to.
_CODE_FIELDS = ("period", "description", "confidence", "date_confidence", "description_confidence", "role",
                "product", "cell_kind", "route", "predecessors", "successors", "statuses", "sources", "note")
_POLICY_FIELDS = ("period", "value", "description", "confidence", "date_confidence", "sources", "note")
_DECISION_FIELDS = ("period", "description", "when", "emit", "confidence", "sources")
_RATE_FIELDS = ("value", "confidence", "sources", "note")
_TABLE_FIELDS = ("id", "title", "effective_from", "effective_to", "sources", "not_found", "note")
_LISTS = ("sources", "statuses", "predecessors", "successors")


def _period(row: Dated) -> str:
    start = row.effective_from.isoformat() if row.effective_from else "open"
    end = row.effective_to.isoformat() if row.effective_to else "open"
    return f"{start} to {end}"


def _status(status: Status) -> str:
    text = f"{status.kind} {status.value} ({_period(status)}; {status.confidence}"
    if status.date_confidence:
        text += f", dates {status.date_confidence}"
    return text + f"; {', '.join(status.sources)})"


def _value(row: BaseModel, name: str) -> Any:
    if name == "period":
        assert isinstance(row, Dated)
        return _period(row)
    if name == "statuses":
        assert isinstance(row, CodeRow)
        return [_status(s) for s in row.statuses]
    if name == "not_found" and isinstance(row, RateTable):
        return [_missing(m) for m in row.not_found]
    value = getattr(row, name)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [v.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _field_changes(old: BaseModel, new: BaseModel, fields: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in fields:
        before, after = _value(old, name), _value(new, name)
        if before == after:
            continue
        change: dict[str, Any] = {"field": name, "old": before, "new": after}
        listed = name in _LISTS or (name == "not_found" and isinstance(old, RateTable))
        if isinstance(before, list) and isinstance(after, list) and listed:
            change["added"] = [x for x in after if x not in before]
            change["removed"] = [x for x in before if x not in after]
        out.append(change)
    return out


def _pair(old: list[R], new: list[R]) -> list[tuple[R | None, R | None]]:
    """Pair the periods of one key: same start date first, then the rest in order."""
    if len(old) == len(new):
        return list(zip(old, new, strict=True))
    pairs: list[tuple[R | None, R | None]] = []
    rest_new = list(new)
    rest_old: list[R] = []
    for row in old:
        match = next((n for n in rest_new if getattr(n, "effective_from", None) == getattr(row, "effective_from", 0)),
                     None)
        if match is None:
            rest_old.append(row)
        else:
            rest_new.remove(match)
            pairs.append((row, match))
    for index in range(max(len(rest_old), len(rest_new))):
        pairs.append((rest_old[index] if index < len(rest_old) else None,
                      rest_new[index] if index < len(rest_new) else None))
    return pairs


def _keyed(old: Iterable[R], new: Iterable[R], key: Callable[[R], tuple[str, ...]], fields: Sequence[str],
           describe: Callable[[R], dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    before: dict[tuple[str, ...], list[R]] = {}
    after: dict[tuple[str, ...], list[R]] = {}
    for row in old:
        before.setdefault(key(row), []).append(row)
    for row in new:
        after.setdefault(key(row), []).append(row)
    added = [describe(r) for k in after if k not in before for r in after[k]]
    removed = [describe(r) for k in before if k not in after for r in before[k]]
    changed: list[dict[str, Any]] = []
    for k in after:
        if k not in before:
            continue
        rows_old = sorted(before[k], key=lambda r: getattr(r, "effective_from", None) or dt.date.min)
        rows_new = sorted(after[k], key=lambda r: getattr(r, "effective_from", None) or dt.date.min)
        for old_row, new_row in _pair(rows_old, rows_new):
            if old_row is None and new_row is not None:
                changed.append({**describe(new_row), "change": "period added"})
            elif new_row is None and old_row is not None:
                changed.append({**describe(old_row), "change": "period removed"})
            elif old_row is not None and new_row is not None:
                changes = _field_changes(old_row, new_row, fields)
                if changes:
                    changed.append({**describe(new_row), "change": "changed", "changes": changes})
    return {"added": added, "removed": removed, "changed": changed}


def _code(row: CodeRow) -> dict[str, Any]:
    return {"system": row.system, "code": row.code, "description": row.description, "period": _period(row),
            "confidence": row.confidence}


def _policy(row: Policy) -> dict[str, Any]:
    return {"id": row.id, "value": row.value, "period": _period(row), "confidence": row.confidence,
            "description": row.description}


def _plain(row: BaseModel) -> dict[str, Any]:
    data = row.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    keep = ("id", "topic", "searched", "title", "description", "outcome", "publisher", "generic", "brand")
    return {k: data[k] for k in keep if k in data}


def _missing(item: MissingRate) -> str:
    """A rate searched for and not found, on one line: "trial-adjustor (drg 018): note"."""
    return f"{item.name}{_qualifier(item)}: {item.note}"


def _qualifier(row: Rate | MissingRate) -> str:
    parts = [f"{k} {v}" for k, v in (("drg", row.drg), ("apc", row.apc), ("code", row.code), ("product", row.product))
             if v is not None]
    return f" ({', '.join(parts)})" if parts else ""


def _table(row: RateTable) -> dict[str, Any]:
    return {"system": row.system, "year": row.year, "id": row.id, "title": row.title,
            "period": f"{row.effective_from.isoformat()} to {row.effective_to.isoformat()}"}


def _payment_rates(old: KB, new: KB) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The rate tables (payment_rates.yaml) by system and year, and each rate of each table."""
    owner: dict[int, RateTable] = {id(r): t for kb in (old, new) for t in kb.payment_rates for r in t.rates}

    def key(rate: Rate) -> tuple[str, ...]:
        table = owner[id(rate)]
        return (table.system, table.year, rate.name, rate.drg or "", rate.apc or "", rate.code or "",
                rate.product or "")

    def describe(rate: Rate) -> dict[str, Any]:
        table = owner[id(rate)]
        out: dict[str, Any] = {"table": table.id, "system": table.system, "year": table.year, "name": rate.name}
        out.update({k: v for k, v in (("drg", rate.drg), ("apc", rate.apc), ("code", rate.code),
                                      ("product", rate.product)) if v is not None})
        out.update(value=rate.value, confidence=rate.confidence, sources=list(rate.sources))
        return out

    return {
        "tables": _keyed(old.payment_rates, new.payment_rates, lambda t: (t.system, t.year), _TABLE_FIELDS, _table),
        "rates": _keyed([r for t in old.payment_rates for r in t.rates],
                        [r for t in new.payment_rates for r in t.rates], key, _RATE_FIELDS, describe),
    }


def diff_kbs(old: KB, new: KB, *, old_name: str = "old", new_name: str = "new") -> dict[str, Any]:
    """What changed from `old` to `new`: JSON-ready, keys codes, policies, decisions, sources,
    products, review_log (each with added / removed / changed), payment_rates (its ``tables`` and
    ``rates``, each with added / removed / changed) and the two editions."""
    return {
        "old": {"name": old_name, **old.stamp(), "previous_edition": old.previous_edition},
        "new": {"name": new_name, **new.stamp(), "previous_edition": new.previous_edition},
        "codes": _keyed(old.codes, new.codes, lambda r: (r.system, r.code), _CODE_FIELDS, _code),
        "policies": _keyed(old.policies, new.policies, lambda r: (r.id,), _POLICY_FIELDS, _policy),
        "decisions": _keyed(old.decisions, new.decisions, lambda r: (r.id,), _DECISION_FIELDS, _plain),
        "sources": _keyed(list(old.sources.values()), list(new.sources.values()), lambda r: (r.id,),
                          ("title", "publisher", "date", "address", "kind", "note"), _plain),
        "products": _keyed(old.products, new.products, lambda r: (r.id,),
                           ("generic", "brand", "aliases", "cell_kind", "fda_approval", "sources", "confidence"),
                           _plain),
        "review_log": _keyed(old.review_log, new.review_log, lambda r: (r.topic, r.searched.isoformat()),
                             ("outcome", "found", "not_found", "sources", "kb_rows"), _plain),
        "payment_rates": _payment_rates(old, new),
    }


def short(value: Any, limit: int = 160) -> str:
    """A change's value on one line of text output."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
