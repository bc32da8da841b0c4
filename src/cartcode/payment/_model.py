"""The result of an estimate: plain slotted dataclasses, money as Decimal rounded to cents."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

CENT = Decimal("0.01")
Origin = Literal["given", "defaulted"]


def cents(amount: Decimal) -> Decimal:
    """Round to cents as CMS's pricers do (half up)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> str:
    return f"${cents(amount):,.2f}"


@dataclass(slots=True)
class Component:
    """One part of the payment, with the formula in words and the KB sources of its rates."""

    name: str
    amount: Decimal
    formula: str
    sources: list[str] = field(default_factory=list)
    confidence: str = "V-primary"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "amount": str(cents(self.amount)), "formula": self.formula,
                "sources": list(self.sources), "confidence": self.confidence}


@dataclass(slots=True)
class Input:
    """A value the estimate used: given by the caller, or a default the estimate chose."""

    name: str
    value: str
    origin: Origin
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": self.value, "origin": self.origin}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(slots=True)
class Estimate:
    """What Medicare pays, part by part. `total` is the sum of the components, or None when a part
    the payment cannot do without (e.g. the MS-DRG payment) is missing; `complete` is False when
    any part is left out (each named in `warnings`)."""

    setting: str
    system: str  # IPPS | OPPS | PFS
    year: str | None  # FY2026 / CY2026
    total: Decimal | None
    complete: bool
    basis: str  # national | hospital-specific
    currency: str = "USD"
    components: list[Component] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the year's rate table (rule or CMS file)

    def copy(self) -> Estimate:
        """A copy whose lists and parts can be changed without touching this one (a cached estimate)."""
        return Estimate(setting=self.setting, system=self.system, year=self.year, total=self.total,
                        complete=self.complete, basis=self.basis, currency=self.currency,
                        components=[Component(c.name, c.amount, c.formula, list(c.sources), c.confidence)
                                    for c in self.components],
                        inputs=[Input(i.name, i.value, i.origin, i.note) for i in self.inputs],
                        warnings=list(self.warnings), sources=list(self.sources))

    def headline(self) -> Estimate:
        """The total, whether it is complete, system, year and basis, without the parts (for a
        caller that shows only those, e.g. the batch claims table)."""
        return Estimate(setting=self.setting, system=self.system, year=self.year, total=self.total,
                        complete=self.complete, basis=self.basis, currency=self.currency)

    def to_json(self) -> dict[str, Any]:
        return {
            "setting": self.setting, "system": self.system, "year": self.year,
            "total": str(cents(self.total)) if self.total is not None else None,
            "currency": self.currency, "complete": self.complete, "basis": self.basis,
            "components": [c.to_json() for c in self.components],
            "inputs": [i.to_json() for i in self.inputs],
            "warnings": list(self.warnings), "sources": list(self.sources),
        }
