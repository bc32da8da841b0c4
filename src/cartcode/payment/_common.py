"""Helpers shared by the three estimators."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from cartcode.kb.loader import KB
from cartcode.kb.schema import CONFIDENCE_RANK, Rate, merge_ids
from cartcode.payment._model import Estimate, Input

# Estimates by their arguments: a pure function of them and the KB, and a batch's claims share a few
# of them (outpatient and professional: the service date, place, payer...; inpatient: the fiscal
# year's table, see _ipps). The KB is held by each entry, so its id (or that of one of its tables)
# cannot be reused meanwhile. tests/payment/test_estimate.py compares remembered answers with fresh ones.
_MEMO: dict[tuple[object, ...], tuple[KB, Estimate]] = {}
_MEMO_SIZE = 4096


def memoised(kb: KB, key: tuple[object, ...], compute: Callable[[], Estimate]) -> Estimate:
    """The estimate remembered for `key` with this KB, computed (and remembered) the first time.
    Shared: the caller returns a copy (Estimate.copy) or the headline, never this one."""
    hit = _MEMO.get((id(kb), *key))
    if hit is not None and hit[0] is kb:
        return hit[1]
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    estimate = compute()
    _MEMO[(id(kb), *key)] = (kb, estimate)
    return estimate


def weakest(*labels: str | None) -> str:
    present = [label for label in labels if label]
    return max(present, key=lambda label: CONFIDENCE_RANK[label]) if present else "V-primary"


def rate_sources(*rates: Rate | None) -> list[str]:
    return merge_ids(*(r.sources for r in rates if r is not None))


def rate_label(*rates: Rate | None) -> str:
    return weakest(*(r.confidence for r in rates if r is not None))


def number(value: Decimal | float | int | str) -> Decimal:
    """Any caller number as Decimal (floats through their shortest text, never their binary value)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def shown(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def given_or_default(inputs: list[Input], name: str, value: Decimal | float | int | str | None,
                     default: Decimal | None, note: str | None = None) -> Decimal | None:
    """Record an input as given or defaulted; returns the value to use (None: absent, no default)."""
    if value is not None:
        number_ = number(value)
        inputs.append(Input(name=name, value=shown(number_), origin="given"))
        return number_
    if default is not None:
        inputs.append(Input(name=name, value=shown(default), origin="defaulted", note=note))
    return default


PAYER_WARNINGS = {
    "medicare-advantage": "The payer is a Medicare Advantage plan: these are Medicare fee-for-service amounts; "
                          "the plan pays what its contract with the hospital says (often Medicare rates).",
    "medicaid": "The payer is Medicaid: these are Medicare fee-for-service amounts, not Medicaid's; "
                "state Medicaid programs pay by their own methods.",
    "commercial": "The payer is commercial: these are Medicare fee-for-service amounts for comparison; "
                  "the payer pays what its contract says.",
}
