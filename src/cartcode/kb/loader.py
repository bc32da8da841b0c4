"""Load and validate the knowledge base. Refuses bad data with the file and row named."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import itertools
import os
import pickle
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cartcode._codeformat import is_well_formed, normalise
from cartcode.kb.schema import (
    CodeRow,
    Dated,
    Decision,
    GenericUse,
    Manifest,
    Policy,
    Product,
    RateTable,
    ReviewEntry,
    Source,
)

T = TypeVar("T", bound=BaseModel)

try:  # the C loader is ~10x faster; fall back when libyaml is absent
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc]
    """Safe loading, except that an impossible date (2025-02-30) stays a string instead of raising
    in the YAML library: strict row validation then refuses it with the file, row and field named."""


def _timestamp(loader: Any, node: Any) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class KBError(ValueError):
    """The knowledge base is invalid. The message names the file and the row."""


def _where(file: str, index: int, row: Mapping[str, Any] | None) -> str:
    label = ""
    if isinstance(row, Mapping):
        for key in ("id", "code"):
            if key in row:
                label = f" ({key} {row[key]!r})"
                break
    return f"{file}: row {index + 1}{label}"


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_R = TypeVar("_R", bound=_HasId)


def _with_unique_ids(rows: Sequence[_R], row_label: str, what: str) -> Iterator[tuple[str, _R]]:
    """(where, row) for each row, where = "<row_label> <n> (id ...)"; a repeated id is refused."""
    seen: set[str] = set()
    for index, row in enumerate(rows):
        where = f"{row_label} {index + 1} (id {row.id!r})"
        if row.id in seen:
            raise KBError(f"{where}: duplicate {what} id")
        seen.add(row.id)
        yield where, row


_CACHE_VERSION = b"kb-yaml-1"  # bump when _Loader's output changes


def _cache_dir() -> Path:
    configured = os.environ.get("CARTCODE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cartcode"


def _read_yaml(directory: Path, name: str) -> Any:
    """Parse one KB file. Building Python objects from YAML is most of the load time (~25 ms), so
    the parsed data is cached by the SHA-256 of the file's bytes: any edit is a cache miss, and
    every row is still validated on every load. The cache is best effort (never an error)."""
    path = directory / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise KBError(f"{name}: missing from the knowledge base directory {directory}") from exc
    key = hashlib.sha256(_CACHE_VERSION + raw).hexdigest()
    cache_file = _cache_dir() / f"{key}.pickle"
    try:
        with cache_file.open("rb") as handle:
            return pickle.load(handle)  # our own file, named by the hash of the YAML it came from
    except Exception:  # a missing or unreadable cache entry is only a miss
        pass
    try:
        data = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise KBError(f"{name}: not valid YAML: {exc}") from exc
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        handle_fd, temp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        with os.fdopen(handle_fd, "wb") as out:
            pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, cache_file)
    except OSError:
        pass
    return data


def _rows(directory: Path, name: str, model: type[T], key: str) -> list[T]:
    return _rows_of(_read_yaml(directory, name), name, model, key)


def _rows_of(data: Any, name: str, model: type[T], key: str, *, require_sources: bool = True) -> list[T]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise KBError(f"{name}: expected a top-level key {key!r} holding a list of rows")
    out: list[T] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise KBError(f"{_where(name, index, None)}: a row must be a mapping")
        if require_sources and "sources" in model.model_fields and not item.get("sources"):
            raise KBError(f"{_where(name, index, item)}: the row names no source")
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(row)'}: {err['msg']}" for err in exc.errors()
            )
            raise KBError(f"{_where(name, index, item)}: {problems}") from exc
    return out


@dataclass
class KB:
    """The loaded knowledge base: typed rows plus the indexes every query uses."""

    directory: Path
    manifest: Manifest
    sources: dict[str, Source]
    codes: list[CodeRow]
    products: list[Product]
    policies: list[Policy]
    extra: dict[str, Any] = field(default_factory=dict)  # other YAML files, raw
    decisions: list[Decision] = field(default_factory=list)  # decisions.yaml, in file order
    generic_use: list[GenericUse] = field(default_factory=list)  # decisions.yaml generic_code_use
    review_log: list[ReviewEntry] = field(default_factory=list)  # review_log.yaml: topics searched, found or not
    payment_rates: list[RateTable] = field(default_factory=list)  # payment_rates.yaml: rates by year
    _by_code: dict[tuple[str, str], list[CodeRow]] = field(default_factory=dict, repr=False)
    _by_name: dict[str, Product] = field(default_factory=dict, repr=False)
    _policies: dict[str, list[Policy]] = field(default_factory=dict, repr=False)
    # The KB never changes after loading, so attribute queries are memoised (recommend and the
    # rules ask the same few questions for every encounter and claim).
    _where: dict[tuple[tuple[str, Any], ...], list[CodeRow]] = field(default_factory=dict, repr=False)
    _by_id: dict[str, Product] | None = field(default=None, repr=False)  # product_by_id's index, built on first use
    _rate_tables: dict[tuple[str, dt.date], RateTable | None] = field(default_factory=dict, repr=False)

    @property
    def edition(self) -> str:
        return self.manifest.edition

    @property
    def as_of(self) -> dt.date:
        return self.manifest.as_of

    @property
    def previous_edition(self) -> str | None:
        return self.manifest.previous_edition

    def review(self, topic: str) -> ReviewEntry | None:
        """The review-log entry of a topic (the newest search of it), if any."""
        return next((e for e in reversed(self.review_log) if e.topic == topic), None)

    def stamp(self) -> dict[str, str]:
        """The KB edition every answer carries (like an OPA bundle revision)."""
        return {"edition": self.manifest.edition, "as_of": self.manifest.as_of.isoformat()}

    # -- codes -------------------------------------------------------------------------------
    def code_rows(self, system: str, code: str) -> list[CodeRow]:
        """Every period the KB holds for a code, oldest first (deleted codes keep their rows)."""
        return self._by_code.get((system, normalise(system, code)), [])

    def code(self, system: str, code: str, on: dt.date | None = None) -> CodeRow | None:
        """The row valid on `on`; without a date, the newest row."""
        rows = self.code_rows(system, code)
        if on is None:
            return rows[-1] if rows else None
        for row in rows:
            if row.valid_on(on):
                return row
        return None

    def knows(self, system: str, code: str) -> bool:
        return (system, normalise(system, code)) in self._by_code

    def codes_where(self, **attrs: Any) -> list[CodeRow]:
        """Rows whose attributes equal the given values, e.g. codes_where(role="admin", system="CPT")."""
        key = tuple(sorted(attrs.items()))
        rows = self._where.get(key)
        if rows is None:
            rows = [row for row in self.codes if all(getattr(row, k) == v for k, v in attrs.items())]
            self._where[key] = rows
        return list(rows)

    # -- products ----------------------------------------------------------------------------
    def product(self, name: str) -> Product | None:
        """A product by generic or brand name, short form, id or product HCPCS code (any case)."""
        return self._by_name.get(name.strip().casefold())

    def product_close_matches(self, name: str, n: int = 5) -> list[str]:
        keys = list(self._by_name)
        matches = difflib.get_close_matches(name.strip().casefold(), keys, n=n, cutoff=0.5)
        return matches or [k for k in keys if name.strip().casefold()[:3] in k][:n]

    def product_codes(self, product_id: str, system: str, on: dt.date | None = None) -> list[CodeRow]:
        """The codes naming a product in one system (e.g. its HCPCS Q-code), valid on `on` if given."""
        rows = self.codes_where(product=product_id, system=system)
        return rows if on is None else [row for row in rows if row.valid_on(on)]

    def product_by_id(self, product_id: str) -> Product | None:
        index = self._by_id
        if index is None:  # the first product of an id wins, as the scan it replaces
            index = {}
            for product in self.products:
                index.setdefault(product.id, product)
            self._by_id = index
        return index.get(product_id)

    # -- policies ----------------------------------------------------------------------------
    def policy(self, policy_id: str, on: dt.date | None = None) -> Policy | None:
        rows = self._policies.get(policy_id, [])
        if on is None:
            return rows[-1] if rows else None
        return next((row for row in rows if row.valid_on(on)), None)

    def policy_rows(self, policy_id: str) -> list[Policy]:
        return self._policies.get(policy_id, [])

    # -- payment rates -----------------------------------------------------------------------
    def rate_table(self, system: str, day: dt.date) -> RateTable | None:
        """The rate table of a payment system (IPPS, OPPS, PFS) in force on a day, if the KB has one."""
        key = (system, day)
        memo = self._rate_tables
        if key in memo:
            return memo[key]
        found = next((t for t in self.payment_rates if t.system == system and t.valid_on(day)), None)
        if len(memo) < 100_000:  # every day of a few years, per system: a batch asks per claim
            memo[key] = found
        return found

    # -- sources -----------------------------------------------------------------------------
    def source(self, source_id: str) -> Source:
        return self.sources[source_id]


def _check_sources(name: str, rows: Sequence[BaseModel], sources: Mapping[str, Source]) -> None:
    for index, row in enumerate(rows):
        ids: list[str] = list(getattr(row, "sources", []))
        for status in getattr(row, "statuses", []):
            ids.extend(status.sources)
        for source_id in ids:
            if source_id not in sources:
                raise KBError(
                    f"{_where(name, index, row.model_dump())}: unknown source id {source_id!r} "
                    "(not in sources.yaml)"
                )


def _overlaps(a: Dated, b: Dated) -> bool:
    a_from = a.effective_from or dt.date.min
    b_from = b.effective_from or dt.date.min
    a_to = a.effective_to or dt.date.max
    b_to = b.effective_to or dt.date.max
    return a_from <= b_to and b_from <= a_to


def _check_periods(name: str, rows: Iterable[Dated], key: Any) -> None:
    seen: dict[Any, list[tuple[int, Dated]]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row.effective_from and row.effective_to and row.effective_to < row.effective_from:
            raise KBError(f"{_where(name, index, row.model_dump())}: effective_to is before effective_from")
        k = key(row)
        for other_index, other in seen[k]:
            if _overlaps(row, other):
                raise KBError(
                    f"{_where(name, index, row.model_dump())}: period overlaps row {other_index + 1} "
                    f"for the same {k}"
                )
        seen[k].append((index, row))


def _load_decisions(
    directory: Path,
    sources: Mapping[str, Source],
    codes: Sequence[CodeRow],
    products: Sequence[Product],
    policies: Sequence[Policy],
) -> tuple[list[Decision], list[GenericUse]]:
    """decisions.yaml: the recommend decision table and the generic-code periods of named products.
    Optional (a KB without it recommends nothing); when present, every reference must resolve."""
    name = "decisions.yaml"
    if not (directory / name).exists():
        return [], []
    data = _read_yaml(directory, name)
    decisions = _rows_of(data, name, Decision, "decisions")
    generic_use = _rows_of(data, name, GenericUse, "generic_code_use") if isinstance(data, dict) and \
        "generic_code_use" in data else []
    known_codes = {(row.system, row.code) for row in codes}
    policy_ids = {row.id for row in policies}
    product_ids = {p.id for p in products}
    for where, dec in _with_unique_ids(decisions, f"{name}: decisions row", "decision"):
        for source_id in [*dec.sources, *(s for e in dec.emit for s in e.sources)]:
            if source_id not in sources:
                raise KBError(f"{where}: unknown source id {source_id!r} (not in sources.yaml)")
        for policy_id in [*dec.when.policy_on, *dec.when.policy_off, *dec.when.policy_false]:
            if policy_id not in policy_ids:
                raise KBError(f"{where}: unknown policy {policy_id!r} (not in policies.yaml)")
        for product_id in dec.when.product or []:
            if product_id not in product_ids:
                raise KBError(f"{where}: unknown product {product_id!r} (not in products.yaml)")
        for policy_id in re.findall(r"\{policy:([a-z0-9-]+)\}", " ".join(e.use for e in dec.emit)):
            if policy_id not in policy_ids:
                raise KBError(f"{where}: text names unknown policy {policy_id!r}")
        for number, emit in enumerate(dec.emit, start=1):
            if emit.to in ("codes", "payment") and emit.code is None and emit.select is None:
                raise KBError(f"{where}: emit {number} needs a code or a select")
            if emit.code is not None:
                if emit.system is None:
                    raise KBError(f"{where}: emit {number} names code {emit.code!r} without its system")
                if (emit.system, emit.code) not in known_codes:
                    raise KBError(f"{where}: emit {number}: {emit.system} {emit.code!r} is not in codes.yaml")
    for index, use in enumerate(generic_use):
        where = f"{name}: generic_code_use row {index + 1}"
        if use.product not in product_ids:
            raise KBError(f"{where}: unknown product {use.product!r}")
        for source_id in use.sources:
            if source_id not in sources:
                raise KBError(f"{where}: unknown source id {source_id!r} (not in sources.yaml)")
    _check_periods(name, generic_use, lambda r: (r.product, r.system))
    return decisions, generic_use


def _load_review_log(
    directory: Path,
    sources: Mapping[str, Source],
    codes: Sequence[CodeRow],
    policies: Sequence[Policy],
    as_of: dt.date,
) -> list[ReviewEntry]:
    """review_log.yaml: what each KB review searched, found (source ids) or did not find. Optional;
    when present every source id and every named KB row must resolve, a found topic must cite a
    source, and no search may postdate the manifest's as_of (sources reviewed through)."""
    name = "review_log.yaml"
    if not (directory / name).exists():
        return []
    entries = _rows_of(_read_yaml(directory, name), name, ReviewEntry, "reviews", require_sources=False)
    known_codes = {(row.system, row.code) for row in codes}
    policy_ids = {row.id for row in policies}
    seen: set[tuple[str, dt.date]] = set()
    for index, entry in enumerate(entries):
        where = f"{name}: row {index + 1} (topic {entry.topic!r})"
        if (entry.topic, entry.searched) in seen:
            raise KBError(f"{where}: the topic is logged twice for {entry.searched.isoformat()}")
        seen.add((entry.topic, entry.searched))
        for source_id in entry.sources:
            if source_id not in sources:
                raise KBError(f"{where}: unknown source id {source_id!r} (not in sources.yaml)")
        if entry.outcome != "not-found" and not entry.sources:
            raise KBError(f"{where}: outcome {entry.outcome!r} names no source")
        if entry.outcome != "found" and not entry.not_found:
            raise KBError(f"{where}: outcome {entry.outcome!r} must say what was not found")
        if entry.searched > as_of:
            raise KBError(f"{where}: searched {entry.searched.isoformat()} is after the manifest's as_of "
                          f"{as_of.isoformat()} (sources reviewed through)")
        for ref in entry.kb_rows:
            kind, _, rest = ref.partition(":")
            if kind == "codes":
                system, _, code = rest.rpartition(":")
                ok = (system, code) in known_codes
            elif kind == "policies":
                ok = rest in policy_ids
            elif kind == "sources":
                ok = rest in sources
            else:
                ok = kind in ("decisions", "manifest", "products")  # checked by their own loaders
            if not ok:
                raise KBError(f"{where}: kb_rows names {ref!r}, which is not in the KB")
    return entries


_FY_OR_CY = re.compile(r"^(FY|CY)(\d{4})$")


def _load_payment_rates(directory: Path, sources: Mapping[str, Source],
                        products: Sequence[Product]) -> list[RateTable]:
    """payment_rates.yaml: one table per payment system and year. Optional; when present every
    source id and product must resolve, every value must be a decimal number, the year must match
    its period (IPPS: a federal fiscal year, October to September; OPPS and PFS: a calendar year),
    and a system's tables may not overlap."""
    from decimal import Decimal, InvalidOperation

    name = "payment_rates.yaml"
    if not (directory / name).exists():
        return []
    tables = _rows_of(_read_yaml(directory, name), name, RateTable, "tables")
    product_ids = {p.id for p in products}
    for where, table in _with_unique_ids(tables, f"{name}: table", "table"):
        match = _FY_OR_CY.match(table.year)
        if match is None:
            raise KBError(f"{where}: year {table.year!r} is not FYnnnn or CYnnnn")
        kind, year = match.group(1), int(match.group(2))
        if (kind == "FY") != (table.system == "IPPS"):
            by = "fiscal" if table.system == "IPPS" else "calendar"
            raise KBError(f"{where}: {table.system} tables are by {by} year")
        start, end = (dt.date(year - 1, 10, 1), dt.date(year, 9, 30)) if kind == "FY" else \
            (dt.date(year, 1, 1), dt.date(year, 12, 31))
        if (table.effective_from, table.effective_to) != (start, end):
            raise KBError(f"{where}: period {table.effective_from.isoformat()} to {table.effective_to.isoformat()} "
                          f"is not {table.year} ({start.isoformat()} to {end.isoformat()})")
        ids = [*table.sources, *(s for r in table.rates for s in r.sources),
               *(s for m in table.not_found for s in m.sources)]
        for source_id in ids:
            if source_id not in sources:
                raise KBError(f"{where}: unknown source id {source_id!r} (not in sources.yaml)")
        keys: set[tuple[str, str | None, str | None, str | None, str | None]] = set()
        for rate in table.rates:
            key = (rate.name, rate.drg, rate.apc, rate.code, rate.product)
            if key in keys:
                raise KBError(f"{where}: rate {rate.name!r} is given twice")
            keys.add(key)
            try:
                number = Decimal(rate.value)
            except InvalidOperation:
                raise KBError(f"{where}: rate {rate.name!r} value {rate.value!r} is not a decimal number") from None
            if not number.is_finite() or number < 0:
                raise KBError(f"{where}: rate {rate.name!r} value {rate.value!r} must be a non-negative number")
        for product in [*(r.product for r in table.rates), *(m.product for m in table.not_found)]:
            if product is not None and product not in product_ids:
                raise KBError(f"{where}: unknown product {product!r} (not in products.yaml)")
    for system in {t.system for t in tables}:
        mine = sorted((t for t in tables if t.system == system), key=lambda t: t.effective_from)
        for before, after in itertools.pairwise(mine):
            if after.effective_from <= before.effective_to:
                raise KBError(f"{name}: tables {before.id!r} and {after.id!r} overlap")
    return tables


def load_kb_from(directory: Path) -> KB:
    """Load a KB directory (the bundled one, or a test's copy) and refuse anything invalid."""
    manifest_data = _read_yaml(directory, "manifest.yaml")
    try:
        manifest = Manifest.model_validate(manifest_data)
    except ValidationError as exc:
        raise KBError(f"manifest.yaml: {exc.errors()[0]['msg']}") from exc
    source_rows = _rows(directory, "sources.yaml", Source, "sources")
    sources: dict[str, Source] = {}
    for index, src in enumerate(source_rows):
        if src.id in sources:
            raise KBError(f"{_where('sources.yaml', index, src.model_dump())}: duplicate source id")
        sources[src.id] = src
    codes = _rows(directory, "codes.yaml", CodeRow, "codes")
    products = _rows(directory, "products.yaml", Product, "products")
    policies = _rows(directory, "policies.yaml", Policy, "policies")
    _check_sources("codes.yaml", codes, sources)
    _check_sources("products.yaml", products, sources)
    _check_sources("policies.yaml", policies, sources)

    for index, row in enumerate(codes):
        if not is_well_formed(row.system, row.code) or normalise(row.system, row.code) != row.code:
            raise KBError(f"{_where('codes.yaml', index, row.model_dump())}: malformed {row.system} code {row.code!r}")
    _check_periods("codes.yaml", codes, lambda r: (r.system, r.code))
    product_ids = {p.id for p in products}
    for index, row in enumerate(codes):
        if row.product is not None and row.product not in product_ids:
            raise KBError(f"{_where('codes.yaml', index, row.model_dump())}: unknown product {row.product!r}")
    _check_periods("policies.yaml", policies, lambda r: r.id)

    decisions, generic_use = _load_decisions(directory, sources, codes, products, policies)
    review_log = _load_review_log(directory, sources, codes, policies, manifest.as_of)
    payment_rates = _load_payment_rates(directory, sources, products)

    kb = KB(directory=directory, manifest=manifest, sources=sources, codes=codes, products=products,
            policies=policies, decisions=decisions, generic_use=generic_use, review_log=review_log,
            payment_rates=payment_rates)
    for row in sorted(codes, key=lambda r: r.effective_from or dt.date.min):
        kb._by_code.setdefault((row.system, row.code), []).append(row)
    for prod in products:
        hcpcs = [r.code for r in codes if r.product == prod.id and r.system == "HCPCS"]
        names = [prod.id, prod.generic, prod.brand, *prod.aliases, *hcpcs]
        for name in names:
            if not name:
                continue
            key = name.casefold()
            if key in kb._by_name and kb._by_name[key].id != prod.id:
                raise KBError(f"products.yaml: name {name!r} names two products")
            kb._by_name[key] = prod
    for pol in sorted(policies, key=lambda r: r.effective_from or dt.date.min):
        kb._policies.setdefault(pol.id, []).append(pol)

    known = {"manifest.yaml", "sources.yaml", "codes.yaml", "products.yaml", "policies.yaml", "decisions.yaml",
             "review_log.yaml", "payment_rates.yaml"}
    for path in sorted(directory.glob("*.yaml")):
        if path.name not in known:
            kb.extra[path.stem] = _read_yaml(directory, path.name)
    return kb


def bundled_kb_dir() -> Path:
    return Path(str(resources.files("cartcode.kb") / "data"))


@cache
def load_kb() -> KB:
    """The bundled knowledge base, loaded once per process."""
    return load_kb_from(bundled_kb_dir())
