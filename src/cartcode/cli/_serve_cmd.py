"""`cartcode serve`: the REST API and the coders' page, with uvicorn.

Safe by default: binds 127.0.0.1; ``--token`` (or CARTCODE_TOKEN) makes every /v1 route need
``Authorization: Bearer <token>``; bodies over ``--max-body`` get 413; logging is an allow-list
(:mod:`cartcode.server._logconfig`) with uvicorn's access log (which prints query strings) off.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import typer

from cartcode.errors import InputError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind. Anything but loopback exposes claims "
                             "to the network: use --token and a TLS proxy."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0 = any free port)."),
    token: str | None = typer.Option(None, "--token", envvar="CARTCODE_TOKEN", show_envvar=True,
                                     help="Require 'Authorization: Bearer TOKEN' on every /v1 route."),
    max_body: int = typer.Option(5 * 1024 * 1024, "--max-body", min=1,
                                 help="Largest request body in bytes (413 beyond)."),
    log_level: str = typer.Option("info", "--log-level", help="critical, error, warning, info or debug."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Server processes (one per core at most)."),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web page at /, on 127.0.0.1 by default."""
    import os

    import uvicorn

    from cartcode.server._app import LOOPBACK_HOSTS, create_app
    from cartcode.server._logconfig import log_config

    # No "trace": at that level uvicorn logs every ASGI message, request and response bodies included.
    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise InputError(f"unknown log level {log_level!r}", where="--log-level")
    if token is not None and not token.strip():
        raise InputError("the token is empty", where="--token")
    # Warnings may quote values (e.g. pydantic serialisation warnings): into logging, where the
    # allow-list drops them.
    logging.captureWarnings(True)
    loopback = _is_loopback(host)
    if not loopback:
        typer.echo(
            f"cartcode serve: warning: binding {host}, not loopback"
            + ("" if token else ", and without a token: anyone who can reach it can send claims"),
            err=True,
        )
    # On loopback, answer only to loopback names (no DNS rebinding); elsewhere the Host is the proxy's.
    allowed_hosts = LOOPBACK_HOSTS if loopback else None
    app: Any
    if workers == 1:
        app = create_app(token=token, max_body=max_body, allowed_hosts=allowed_hosts)
    else:
        # Worker processes build their own app (cartcode.server._app.app_from_env) from the environment.
        os.environ["CARTCODE_MAX_BODY"] = str(max_body)
        os.environ["CARTCODE_ALLOWED_HOSTS"] = ",".join(allowed_hosts or ())
        if token is not None:
            os.environ["CARTCODE_TOKEN"] = token
        else:
            os.environ.pop("CARTCODE_TOKEN", None)
        app = "cartcode.server._app:app_from_env"
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_config=log_config(log_level),
        log_level=log_level,
        access_log=False,  # ours (cartcode.access) logs the route template, never the query string
        server_header=False,
        proxy_headers=False,
        forwarded_allow_ips="",
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
