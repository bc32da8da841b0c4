"""The rule catalogue: one module per rule, registered by the :func:`rule` decorator.

A rule is a unit (ruff / sqlfluff / Regal style): ``checker/rules/<family>/<id>_<name>.py`` holds one
decorated function and its documentation (docstring with the fixed ``## `` headings of
:data:`DOC_HEADINGS`); ``<id>_<name>.yaml`` beside it holds its good and bad cases. The function
takes the per-claim :class:`~cartcode.checker._context.Ctx` and yields :class:`Hit` values; the
engine turns every hit into a :class:`~cartcode.findings.Finding` in one place
(:func:`cartcode.checker._context.build_finding`), so the output shape lives in one spot.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cartcode._build import source_path
from cartcode.findings import Fix, Severity
from cartcode.model import Location

if TYPE_CHECKING:  # pragma: no cover
    from cartcode.checker._context import Ctx

ALL_SETTINGS: frozenset[str] = frozenset({"inpatient", "outpatient", "professional"})
INSTITUTIONAL: frozenset[str] = frozenset({"inpatient", "outpatient"})
RULES_PACKAGE = "cartcode.checker.rules"  # rules/<family>/cartNNN_<name>.py
DOC_HEADINGS: tuple[str, ...] = ("What it checks", "Why is this bad?", "Fix", "Fix safety", "References")


class Hit(NamedTuple):
    """What a rule reports; the engine adds the rule's id, name, default severity and sources."""

    message: str
    loc: Location | None = None
    codes: tuple[tuple[str, str], ...] = ()
    fix: Fix | None = None
    severity: Severity | None = None  # None = the rule's default
    sources: tuple[str, ...] = ()  # extra sources for this hit, added to the rule's own


RuleFunc = Callable[["Ctx"], Iterable[Hit]]


@dataclass(frozen=True, eq=False)  # identity hash: the engine keys caches on rule tuples
class RuleSpec:
    id: str
    name: str
    severity: Severity
    sources: tuple[str, ...]
    settings: frozenset[str]
    func: RuleFunc
    module: str
    path: Path
    needs: frozenset[str] = frozenset()  # claim triggers (Ctx.triggers), any of which makes it run
    unless: frozenset[str] = frozenset()  # claim triggers any of which make it pointless (skipped)

    @property
    def doc(self) -> str:
        return _docstring(self.func, self.path)

    @property
    def summary(self) -> str:
        return self.doc.split("\n", 1)[0].strip()

    @property
    def family(self) -> str:
        return self.module.split(".")[-2]

    @property
    def cases_path(self) -> Path:
        return self.path.with_suffix(".yaml")

    def sections(self) -> dict[str, str]:
        """The docstring's headed sections (heading -> text), in order."""
        out: dict[str, str] = {}
        current: str | None = None
        buf: list[str] = []
        for line in self.doc.splitlines()[1:]:
            stripped = line.strip()
            if stripped.startswith("## ") and stripped[3:].strip() in DOC_HEADINGS:
                if current is not None:
                    out[current] = "\n".join(buf).strip()
                current, buf = stripped[3:].strip(), []
            elif current is not None:
                buf.append(line)
        if current is not None:
            out[current] = "\n".join(buf).strip()
        return out


@cache
def _docstring(func: RuleFunc, path: Path) -> str:
    """The rule function's docstring, cleaned. mypyc drops docstrings from the functions it
    compiles, so then it is read from the source file, which stays the source of truth."""
    if func.__doc__:
        return inspect.cleandoc(func.__doc__)
    name = getattr(func, "__name__", "")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_docstring(node, clean=True) or ""
    return ""


_REGISTRY: dict[str, RuleSpec] = {}


def rule(
    id: str,
    name: str,
    *,
    severity: Severity,
    sources: Iterable[str],
    settings: Iterable[str] = ALL_SETTINGS,
    needs: Iterable[str] = (),
    unless: Iterable[str] = (),
) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule. `settings` limits it to claim settings and `needs` to claims with any of
    those triggers (see :data:`cartcode.checker._context.TRIGGERS`; empty = every claim) and without
    any of the `unless` triggers, so the engine never calls a rule that could not fire."""

    def decorate(func: RuleFunc) -> RuleFunc:
        module = inspect.getmodule(func)
        # the .py file; inspect.getfile only knows Python functions, not a rule compiled by mypyc
        path = Path(inspect.getfile(func)) if inspect.isfunction(func) else source_path(func.__module__)
        if id in _REGISTRY and _REGISTRY[id].func is not func:
            raise ValueError(f"rule id {id} registered twice ({_REGISTRY[id].module} and {func.__module__})")
        _REGISTRY[id] = RuleSpec(
            id=id,
            name=name,
            severity=severity,
            sources=tuple(sources),
            settings=frozenset(settings),
            func=func,
            module=module.__name__ if module else func.__module__,
            path=path,
            needs=frozenset(needs),
            unless=frozenset(unless),
        )
        return func

    return decorate


@cache
def all_rules() -> tuple[RuleSpec, ...]:
    """Every rule, sorted by id. Imports each rule module once (glob over the rule families)."""
    rules_dir = Path(__file__).parent / "rules"
    for family in sorted(p for p in rules_dir.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        for info in pkgutil.iter_modules([str(family)]):
            importlib.import_module(f"{RULES_PACKAGE}.{family.name}.{info.name}")
    return tuple(sorted(_REGISTRY.values(), key=lambda r: r.id))


def get_rule(key: str) -> RuleSpec | None:
    """A rule by id (case-insensitive) or readable name."""
    wanted = key.strip().casefold()
    return next((r for r in all_rules() if r.id.casefold() == wanted or r.name == wanted), None)


def select_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> tuple[RuleSpec, ...]:
    """Rules matching `select` (ids, id prefixes such as CART1, or names; empty = all) minus `ignore`.

    Unknown selectors raise ValueError naming them, so a typo never silently disables checks.
    """

    def matches(spec: RuleSpec, key: str) -> bool:
        k = key.strip().casefold()
        return spec.id.casefold().startswith(k) or spec.name == k

    rules = all_rules()
    for key in [*select, *ignore]:
        if not any(matches(r, key) for r in rules):
            raise ValueError(f"unknown rule selector {key!r}")
    chosen = [r for r in rules if not select or any(matches(r, k) for k in select)]
    return tuple(r for r in chosen if not any(matches(r, k) for k in ignore))
