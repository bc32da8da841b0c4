"""Logging for `cartcode serve`: an allow-list, so that no library can print claim content.

Only three loggers reach stderr: uvicorn's own (startup, shutdown, protocol errors; its access
log is switched off), ``cartcode.access`` (one line per request: client, method, *route
template*, status, time) and ``cartcode.server._app`` (unhandled errors by type and frames only). Every
other logger, including third-party readers' and our own modules', propagates to a root logger
that holds only a NullHandler: a parser that logs a segment (with a patient's name in it) at
WARNING prints nothing. Python warnings are routed into logging for the same reason.
"""

from __future__ import annotations

from typing import Any

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(level: str = "info") -> dict[str, Any]:
    """A logging.config.dictConfig for uvicorn.run(log_config=...)."""
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": _FORMAT}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "null": {"class": "logging.NullHandler"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl},
            # Off: its line carries the raw request line, query string included.
            "uvicorn.access": {"handlers": ["null"], "level": "CRITICAL", "propagate": False},
            "cartcode.access": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "cartcode.server._app": {"handlers": ["stderr"], "level": lvl, "propagate": False},
        },
        "root": {"handlers": ["null"], "level": "WARNING"},
    }
