"""What changed between two KB editions (`cartcode kb diff OLD NEW`), for a coder reviewing an update.

Rows are compared by their key (codes: system and code; policies, decisions, sources, products: id;
review log: topic and date). A key with several periods (a code, a policy) pairs its rows by start
date where it can, else in order; a changed period, descriptor, label (confidence, date and
descriptor labels), status or source list is one change with its old and new value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from cartcode.kb.loader import KB
from cartcode.kb.schema import CodeRow, Dated, Policy, Status

__all__ = ["diff_kbs"]

R = TypeVar("R", bound=BaseModel)

# The fields compared per row kind; "period" stands for effective_from / effective_to.
_CODE_FIELDS = ("period", "description", "confidence", "date_confidence", "description_confidence", "role",
                "product", "cell_kind", "route", "predecessors", "successors", "statuses", "sources", "note")
_POLICY_FIELDS = ("period", "value", "description", "confidence", "date_confidence", "sources", "note")
_DECISION_FIELDS = ("period", "description", "when", "emit", "confidence", "sources")


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
        if isinstance(before, list) and isinstance(after, list) and name in ("sources", "statuses",
                                                                            "predecessors", "successors"):
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


def diff_kbs(old: KB, new: KB, *, old_name: str = "old", new_name: str = "new") -> dict[str, Any]:
    """What changed from `old` to `new`: JSON-ready, keys codes, policies, decisions, sources,
    products, review_log (each with added / removed / changed) and the two editions."""
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
    }


def short(value: Any, limit: int = 160) -> str:
    """A change's value on one line of text output."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
