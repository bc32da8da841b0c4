"""What one request may cost `cartcode serve` (docs/security.md, "Server").

* Work limits: a claim file's claims, service lines and X12 segments are counted from its bytes
  before anything is read into the claim model (a 5 MB single-claim 837I with 104,166 service
  lines cost 6.2 s of CPU and 1.4 GB); over a limit the answer is 413 with a message that names
  the limit and nothing from the file.
* A gate for `check`: at most `max_concurrent` checks run at once, in threads of their own, so the
  event loop (and /healthz) stays free; at most `max_queued` more wait for a slot, beyond that the
  answer is 503 at once; a check that has not finished `timeout` seconds after it arrived is
  answered 503 (its thread finishes in the background and keeps its slot until then, so the cap
  holds).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_MAX_CLAIMS = 1_000
DEFAULT_MAX_LINES = 10_000
DEFAULT_MAX_SEGMENTS = 100_000
DEFAULT_MAX_CONCURRENT = 2
DEFAULT_MAX_QUEUED = 16
DEFAULT_TIMEOUT = 30.0


class LimitExceeded(Exception):
    """A request over a limit; `status` is the answer (413 work, 503 busy or too slow)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class WorkLimits:
    max_claims: int = DEFAULT_MAX_CLAIMS
    max_lines: int = DEFAULT_MAX_LINES
    max_segments: int = DEFAULT_MAX_SEGMENTS

    def __post_init__(self) -> None:
        if min(self.max_claims, self.max_lines, self.max_segments) < 1:
            raise ValueError("work limits must be at least 1")

    def enforce(self, data: bytes) -> None:
        """Raise LimitExceeded(413) when the claim file in `data` is over a limit."""
        claims, lines, segments = count_work(data)
        for count, limit, what, option in (
            (claims, self.max_claims, "claims", "--max-claims"),
            (lines, self.max_lines, "service lines", "--max-lines"),
            (segments, self.max_segments, "X12 segments", "--max-segments"),
        ):
            if count > limit:
                raise LimitExceeded(
                    413, f"the claim file holds more than {limit} {what}, the most one request may hold "
                    f"(cartcode serve {option}); check big files with `cartcode check` or `cartcode batch`")


def count_work(data: bytes) -> tuple[int, int, int]:
    """(claims, service lines, X12 segments) in a claim file, counted from its bytes without
    building claims. A file that cannot be counted counts 0: its reader then says what is wrong."""
    isa = data.find(b"ISA", 0, 4096)
    if isa >= 0 and not data[:isa].strip(b"\xef\xbb\xbf \t\r\n"):
        return _x12_work(data, isa)
    return _json_work(data)


def _x12_work(data: bytes, isa: int) -> tuple[int, int, int]:
    element, terminator = data[isa + 3 : isa + 4], data[isa + 105 : isa + 106]
    if len(element) != 1 or len(terminator) != 1 or element == terminator:
        return 0, 0, 0
    term, sep = re.escape(terminator), re.escape(element)
    claims = len(re.findall(term + rb"\s*CLM" + sep, data))
    lines = len(re.findall(term + rb"\s*LX" + sep, data))
    return claims, lines, data.count(terminator)


def _json_work(data: bytes) -> tuple[int, int, int]:
    try:
        docs: list[Any] = [json.loads(data)]
    except (ValueError, RecursionError):
        docs = []
        try:
            for line in data.splitlines():  # NDJSON: one resource or claim per line
                if line.strip():
                    docs.append(json.loads(line))
        except (ValueError, RecursionError):
            return 0, 0, 0
    claims = lines = 0
    for doc in docs:
        for claim in _claims_of(doc):
            claims += 1
            if isinstance(claim, dict):
                for key in ("lines", "item"):
                    found = claim.get(key)
                    if isinstance(found, list):
                        lines += len(found)
    return claims, lines, 0


def _claims_of(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return [doc]
    if doc.get("resourceType") == "Bundle":
        entries = doc.get("entry")
        return [e.get("resource") if isinstance(e, dict) else e for e in entries] if isinstance(entries, list) else []
    if "resourceType" not in doc and isinstance(doc.get("claims"), list):
        return list(doc["claims"])
    return [doc]


class CheckGate:
    """Runs `check` in a bounded pool of threads (see the module docstring)."""

    def __init__(self, max_concurrent: int = DEFAULT_MAX_CONCURRENT, max_queued: int = DEFAULT_MAX_QUEUED,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        if max_concurrent < 1 or max_queued < 0 or timeout <= 0:
            raise ValueError("bad check gate settings")
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="cartcode-check")
        self._lock = threading.Lock()
        self._pending = 0  # running or waiting, abandoned ones included until they finish

    @property
    def pending(self) -> int:
        return self._pending

    def _done(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._pending >= self.max_concurrent + self.max_queued:
                raise LimitExceeded(503, "the server is busy checking other claim files; try again shortly")
            self._pending += 1
        future = self._pool.submit(fn)
        future.add_done_callback(self._done)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout)
        except TimeoutError:
            future.cancel()  # still waiting: never runs; already running: finishes, keeping its slot
            raise LimitExceeded(
                503, f"the check did not finish within {self.timeout:g} s (cartcode serve --check-timeout)"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
