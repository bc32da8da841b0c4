"""The HTTP protocol `cartcode serve` runs: uvicorn's h11 protocol with a deadline for request headers.

uvicorn closes a keep-alive connection that sends nothing for ``timeout_keep_alive`` seconds, but
any byte resets that timer, and it sets no deadline at all before the first request: a client that
trickles its headers a byte at a time holds a connection (and its buffer) for ever, and a few
thousand such clients hold them all. Here each request's headers must arrive within
``header_timeout`` seconds of the connection opening, or of the previous response: otherwise the
connection is closed. The size of the headers is bounded by h11 itself
(``h11_max_incomplete_event_size``, ``cartcode serve --max-header-size``; over it the answer is 400).
The timeout comes from CARTCODE_HEADER_TIMEOUT, which `serve` sets (worker processes inherit it).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_ENV = "CARTCODE_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


class GuardedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV) or DEFAULT_HEADER_TIMEOUT)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        waiting = self.cycle is None or self.cycle.response_complete  # no request in progress
        if waiting and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's headers arrived
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request's headers have their own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
