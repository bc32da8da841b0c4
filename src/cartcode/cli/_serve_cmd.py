"""`cartcode serve`: the REST API and the coders' page, with uvicorn.

Safe by default: binds 127.0.0.1; CARTCODE_TOKEN, ``--token-file`` (or ``--token``, which other
users can read in ``ps``) makes every /v1 route need ``Authorization: Bearer <token>``; bodies
over ``--max-body`` get 413; logging is an allow-list (:mod:`cartcode.server._logconfig`) with
uvicorn's access log (which prints query strings) off. Limits on what one request or connection
may cost (docs/security.md, "Server"): work per check (claims, service lines, segments), checks
at once and waiting, a check's time, header size, header and body read time, connections.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path
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
    token_file: Path | None = typer.Option(None, "--token-file", envvar="CARTCODE_TOKEN_FILE", show_envvar=True,
                                           help="Read the token from this file (first line), not the command line."),
    max_claims: int = typer.Option(1_000, "--max-claims", min=1, help="Most claims in one /v1/check file (413)."),
    max_lines: int = typer.Option(10_000, "--max-lines", min=1,
                                  help="Most service lines in one /v1/check file, all claims together (413)."),
    max_segments: int = typer.Option(100_000, "--max-segments", min=1,
                                     help="Most X12 segments in one /v1/check file (413)."),
    max_concurrent_checks: int = typer.Option(2, "--max-concurrent-checks", min=1,
                                              help="Checks that run at once (per process)."),
    max_queued_checks: int = typer.Option(16, "--max-queued-checks", min=0,
                                          help="Checks that may wait for a slot; beyond, 503."),
    check_timeout: float = typer.Option(30.0, "--check-timeout", min=0.1,
                                        help="Seconds a check may take, waiting included (503 beyond)."),
    max_header_size: int = typer.Option(32 * 1024, "--max-header-size", min=1024,
                                        help="Largest request line and headers, in bytes (400 beyond)."),
    header_timeout: float = typer.Option(10.0, "--header-timeout", min=0.1,
                                         help="Seconds for a request's headers to arrive (connection closed)."),
    body_timeout: float = typer.Option(30.0, "--body-timeout", min=0.1,
                                       help="Seconds for a request's body to arrive (408 beyond)."),
    keep_alive_timeout: int = typer.Option(5, "--keep-alive-timeout", min=1,
                                           help="Seconds an idle keep-alive connection stays open."),
    max_connections: int = typer.Option(256, "--max-connections", min=1,
                                        help="Open connections and requests at once (per process); 503 beyond."),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web page at /, on 127.0.0.1 by default."""
    import os

    import uvicorn

    from cartcode.server._app import LOOPBACK_HOSTS, create_app
    from cartcode.server._limits import CheckGate, WorkLimits
    from cartcode.server._logconfig import log_config
    from cartcode.server._protocol import HEADER_TIMEOUT_ENV, GuardedH11Protocol

    # No "trace": at that level uvicorn logs every ASGI message, request and response bodies included.
    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise InputError(f"unknown log level {log_level!r}", where="--log-level")
    if token is not None and not token.strip():
        raise InputError("the token is empty", where="--token")
    if token_file is not None:
        token = _read_token_file(token_file)
    elif token is not None and any(a == "--token" or a.startswith("--token=") for a in sys.argv[1:]):
        typer.echo("cartcode serve: warning: --token is visible to other users of this machine (ps); "
                   "use CARTCODE_TOKEN or --token-file", err=True)
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
    os.environ[HEADER_TIMEOUT_ENV] = str(header_timeout)  # read by GuardedH11Protocol, in every worker
    work_limits = WorkLimits(max_claims=max_claims, max_lines=max_lines, max_segments=max_segments)
    if workers == 1:
        gate = CheckGate(max_concurrent=max_concurrent_checks, max_queued=max_queued_checks, timeout=check_timeout)
        app = create_app(token=token, max_body=max_body, allowed_hosts=allowed_hosts, work_limits=work_limits,
                         check_gate=gate, body_timeout=body_timeout, max_header=max_header_size)
    else:
        # Worker processes build their own app (cartcode.server._app.app_from_env) from the environment.
        os.environ.update({
            "CARTCODE_MAX_CLAIMS": str(max_claims), "CARTCODE_MAX_LINES": str(max_lines),
            "CARTCODE_MAX_SEGMENTS": str(max_segments), "CARTCODE_MAX_CONCURRENT_CHECKS": str(max_concurrent_checks),
            "CARTCODE_MAX_QUEUED_CHECKS": str(max_queued_checks), "CARTCODE_CHECK_TIMEOUT": str(check_timeout),
            "CARTCODE_BODY_TIMEOUT": str(body_timeout), "CARTCODE_MAX_HEADER": str(max_header_size),
        })
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
        # h11 (not httptools, which has no header size limit), with a deadline for headers
        http=GuardedH11Protocol,
        h11_max_incomplete_event_size=max_header_size,
        timeout_keep_alive=keep_alive_timeout,
        limit_concurrency=max_connections,
    )


def _read_token_file(path: Path) -> str:
    """The token: the file's first line, stripped. The file should be readable by its owner only."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the token file: {getattr(exc, 'strerror', None) or type(exc).__name__}",
                         where="--token-file") from exc
    token = text.splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise InputError("the token file is empty", where="--token-file")
    if path.stat().st_mode & 0o077:
        typer.echo(f"cartcode serve: warning: {path} can be read by other users (chmod 600 it)", err=True)
    return token


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
