"""Pure ASGI middleware for the API: guard + access log, security headers, bearer token, body limit.

Pure ASGI (not Starlette's BaseHTTPMiddleware) because it adds next to nothing per request and
keeps the order of checks obvious: a request without the token is refused before its body is
read, and an oversized body is refused before any route parses it.

PHI: claims carry patient names, member ids and dates of birth. Nothing here logs a request
body, a query string or an exception message; the access log names the *route template*
(``/v1/codes/{code}``), never the raw path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
import traceback
from collections.abc import Iterable, Sequence

from starlette.applications import Starlette
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cartcode.server._models import error_kind

access_log = logging.getLogger("cartcode.access")
error_log = logging.getLogger("cartcode.server._app")

ERROR_LOG_BURST = 10  # unhandled-error lines per window ...
ERROR_LOG_WINDOW = 60.0  # ... seconds; beyond that one line per window says how many were left out


class RateLimitedLog:
    """At most `burst` lines per `window` seconds, then one line saying how many were left out:
    a client that makes every request fail (a 500) cannot flood the log or the disk."""

    def __init__(self, logger: logging.Logger, burst: int = ERROR_LOG_BURST, window: float = ERROR_LOG_WINDOW) -> None:
        self.logger = logger
        self.burst = burst
        self.window = window
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._count = 0
        self._dropped = 0

    def error(self, msg: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            dropped = 0
            if now - self._start >= self.window:
                dropped, self._dropped = self._dropped, 0
                self._start, self._count = now, 0
            self._count += 1
            allowed = self._count <= self.burst
            if not allowed:
                self._dropped += 1
        if dropped:
            self.logger.error("%d more unhandled errors in the last %.0f s were not logged", dropped, self.window)
        if allowed:
            self.logger.error(msg, *args)


_errors = RateLimitedLog(error_log)

_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    # The page loads nothing from elsewhere and runs no inline script: no outbound requests.
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
]


async def send_error(
    send: Send, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """An ErrorOut JSON response sent straight on the ASGI channel."""
    body = json.dumps({"status": status, "kind": error_kind(status), "error": message, "details": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _route_template(scope: Scope) -> str:
    """The matched route's template, so no path parameter (or anything a client typed) is logged.

    A request refused before routing (401, 413) has no route in its scope yet: match it here."""
    route = scope.get("route")
    if route is None:
        for candidate in getattr(scope.get("app"), "routes", ()):
            match, _ = candidate.matches(scope)
            if match != Match.NONE:
                route = candidate
                break
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "<no route>"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def _method(scope: Scope) -> str:
    """The method, or OTHER: a server with a permissive parser (h11) passes any token as the
    method, and a client could put a name there."""
    method = scope.get("method")
    return method if method in _METHODS else "OTHER"


def _frames_only(exc: BaseException) -> str:
    """A traceback without the exception's message, which may quote claim content."""
    frames = traceback.extract_tb(exc.__traceback__)[-8:]  # innermost: where it broke
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where}"


class _HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests only (:meth:`http`); anything else (lifespan,
    websockets) goes straight to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class GuardMiddleware(_HttpMiddleware):
    """Outermost: one access-log line per request, and any unhandled exception becomes a bare 500
    (logged by type and frames only: uvicorn would otherwise print the message and the traceback)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 0

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            _errors.error("unhandled %s on %s %s", _frames_only(exc), _method(scope), _route_template(scope))
            if status == 0:
                status = 500
                await send_error(send, 500, "internal error")
        finally:
            client = scope.get("client")
            access_log.info(
                '%s "%s %s" %d %.1fms',
                f"{client[0]}:{client[1]}" if client else "-",
                _method(scope),
                _route_template(scope),
                status,
                (time.perf_counter() - started) * 1000,
            )


class SecurityHeadersMiddleware(_HttpMiddleware):
    """Headers on every response: no sniffing, no framing, no referrer, a same-origin CSP, and
    no caching of API answers (they are about claims)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        no_store = not str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in names)
                if no_store and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_protected(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class BearerTokenMiddleware:
    """With a token set, every /v1 route needs ``Authorization: Bearer <token>`` (else 401).
    The page, its assets, /healthz and /openapi.json stay open: they carry no claim data."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_protected(str(scope.get("path", ""))):
            given = b""
            for name, value in scope.get("headers", []):
                if name.lower() == b"authorization":
                    scheme, _, credentials = bytes(value).strip().partition(b" ")
                    if scheme.lower() == b"bearer":  # the scheme name is case-insensitive (RFC 6750)
                        given = credentials.strip()
                    break
            # compare_digest: the time taken does not leak how much of the token matched
            if not secrets.compare_digest(given, self.expected):
                await send_error(
                    send, 401, "missing or wrong bearer token", [(b"www-authenticate", b'Bearer realm="cartcode"')]
                )
                return
        await self.app(scope, receive, send)


class HostMiddleware:
    """Only the listed Host names (any port): a loopback server then cannot be reached through DNS
    rebinding, where a web page's own name resolves to 127.0.0.1 and the browser calls us."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = ""
            for name, value in scope.get("headers", []):
                if name.lower() == b"host":
                    host = bytes(value).decode("latin-1").lower()
                    break
            name = host.rsplit("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
            if name not in self.allowed:
                await send_error(send, 400, "this server answers only to its own host name")
                return
        await self.app(scope, receive, send)


class HeaderLimitMiddleware:
    """Refuse a request whose line and headers together exceed ``max_header`` bytes with 400 (as
    h11 does for a header block it receives in pieces; one that arrives in a single read is only
    measured here). Nothing of the headers is logged or echoed."""

    def __init__(self, app: ASGIApp, max_header: int) -> None:
        self.app = app
        self.max_header = max_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
            if size > self.max_header:
                await send_error(send, 400, f"request headers over the limit of {self.max_header} bytes",
                                 [(b"connection", b"close")])
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware(_HttpMiddleware):
    """Refuse bodies over ``max_body`` bytes with 413: at once when Content-Length says so, and
    while streaming otherwise (chunked uploads, or a Content-Length that lies). The body is
    buffered here, up to the limit, and replayed to the app, so no route ever sees more. A body
    that has not arrived in full ``body_timeout`` seconds after the request began gets 408 (a
    client that trickles its body cannot hold the connection and its buffer for ever)."""

    def __init__(self, app: ASGIApp, max_body: int, body_timeout: float = 30.0) -> None:
        super().__init__(app)
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = f"request body over the limit of {self.max_body} bytes"
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                if not value.isdigit():
                    await send_error(send, 400, "malformed Content-Length header")
                    return
                if int(value) > self.max_body:
                    await send_error(send, 413, too_large, [(b"connection", b"close")])
                    return
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.body_timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await send_error(send, 408, f"the request body did not arrive within {self.body_timeout:g} s",
                                 [(b"connection", b"close")])
                return
            if message["type"] == "http.disconnect":
                return  # the client went away: nothing to answer
            body: bytes = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await send_error(send, 413, too_large, [(b"connection", b"close")])
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: disconnect notices pass through

        await self.app(scope, replay, send)


def install(app: Starlette, *, token: str | None, max_body: int, allowed_hosts: Sequence[str] | None,
            body_timeout: float = 30.0, max_header: int = 32 * 1024) -> None:
    """Guard(SecurityHeaders(HeaderLimit(Host(Token(BodyLimit(routes)))))), outermost first (the
    last added wraps the rest)."""
    app.add_middleware(BodyLimitMiddleware, max_body=max_body, body_timeout=body_timeout)
    if token:
        app.add_middleware(BearerTokenMiddleware, token=token)
    if allowed_hosts is not None:
        app.add_middleware(HostMiddleware, allowed_hosts=allowed_hosts)
    app.add_middleware(HeaderLimitMiddleware, max_header=max_header)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(GuardMiddleware)
