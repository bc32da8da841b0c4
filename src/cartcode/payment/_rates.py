"""Look-ups in the KB's payment rate tables (payment_rates.yaml), with the reason a rate is missing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cartcode.kb.loader import KB
from cartcode.kb.schema import Rate, RateTable


class Rates:
    """The rate table of one system on one day; `get` returns a rate or None, `why_missing` says
    what the KB records about a missing one (searched and not found, or no table at all)."""

    __slots__ = ("day", "kb", "system", "table")

    def __init__(self, kb: KB, system: str, day: dt.date) -> None:
        self.kb = kb
        self.system = system
        self.day = day
        self.table: RateTable | None = kb.rate_table(system, day)

    def get(self, name: str, *, drg: str | None = None, apc: str | None = None, code: str | None = None,
            product: str | None = None) -> Rate | None:
        if self.table is None:
            return None
        return next((r for r in self.table.rates if r.name == name and r.drg == drg and r.apc == apc
                     and r.code == code and r.product == product), None)

    def value(self, rate: Rate) -> Decimal:
        return Decimal(rate.value)

    def why_missing(self, name: str, *, drg: str | None = None, apc: str | None = None, code: str | None = None,
                    product: str | None = None) -> str:
        if self.table is None:
            return f"the KB has no {self.system} rate table for {self.day.isoformat()}"
        for item in self.table.not_found:
            if (item.name, item.drg, item.apc, item.code, item.product) == (name, drg, apc, code, product):
                return item.note + " (searched, not in the KB)"
        return f"not in the KB's {self.table.year} {self.system} table"

    def missing_sources(self, name: str, *, product: str | None = None) -> list[str]:
        if self.table is None:
            return []
        return [s for item in self.table.not_found if item.name == name and item.product == product
                for s in item.sources]

    @property
    def year(self) -> str | None:
        return self.table.year if self.table is not None else None

    @property
    def sources(self) -> list[str]:
        return list(self.table.sources) if self.table is not None else []
