"""cartcode: code and check CAR-T cell therapy claims.

The public API (everything else is internal):

* :func:`recommend` - encounter facts in, the codes for the claim out;
* :func:`check` / :func:`check_claim` - claims in, findings out;
* :func:`load_kb` - the bundled knowledge base;
* the models :class:`Claim`, :class:`Finding`, :class:`Report`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Claim",
    "Finding",
    "InputError",
    "Report",
    "check",
    "check_claim",
    "load_kb",
    "recommend",
]
__version__ = "0.1.0"

_LAZY = {
    "Claim": ("cartcode.model", "Claim"),
    "Finding": ("cartcode.findings", "Finding"),
    "Report": ("cartcode.findings", "Report"),
    "InputError": ("cartcode.errors", "InputError"),
    "load_kb": ("cartcode.kb.loader", "load_kb"),
    "recommend": ("cartcode.recommender._recommend", "recommend"),
    "check": ("cartcode.checker._engine", "check"),
    "check_claim": ("cartcode.checker._engine", "check_claim"),
}

if TYPE_CHECKING:  # pragma: no cover
    from cartcode.checker._engine import check, check_claim
    from cartcode.errors import InputError
    from cartcode.findings import Finding, Report
    from cartcode.kb.loader import load_kb
    from cartcode.model import Claim
    from cartcode.recommender._recommend import recommend


def __getattr__(name: str) -> Any:
    # Lazy so that `import cartcode` stays fast for the CLI and batch workers.
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'cartcode' has no attribute {name!r}")
