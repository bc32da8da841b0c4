"""Load benchmark of `cartcode serve` (not a test): requests/s and p50/p99 latency for recommend and check.

Starts `cartcode serve` on a free loopback port (or drives --url), then, per endpoint, sends
requests at a fixed target rate for a bounded time from concurrent connections (open loop: each
request has a scheduled send time, and its latency is measured from that time, so a slow server
cannot hide its queue by slowing the client down; no coordinated omission).

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams: on this 2-core machine
httpx's async client spent more CPU per request than the server, and the figures measured the
client. This one costs a few tens of microseconds a request.

    .venv/bin/python bench/load_api.py                      # 200 req/s, 10 s per endpoint
    .venv/bin/python bench/load_api.py --rate 400 --duration 5 --json out.json

Floor (issue 6): recommend p99 under 50 ms at 200 requests/s on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from samples import OUTPATIENT_0540T, inpatient_837i

ENCOUNTERS: list[dict[str, Any]] = [
    {"setting": "inpatient", "date": "2025-06-01", "product": "Breyanzi", "route": "central", "payer": "medicare"},
    {"setting": "outpatient", "date": "2025-03-10", "product": "Carvykti", "payer": "medicare"},
    {"setting": "professional", "date": "2025-10-15", "product": "Kymriah", "payer": "medicare"},
    {"setting": "inpatient", "date": "2025-11-15", "product": "axicabtagene ciloleucel", "payer": "medicare",
     "clinical_trial": "this-product", "product_acquisition": "no-cost", "nct_number": "NCT01234567"},
    {"setting": "inpatient", "date": "2021-03-01", "product": "Tecartus", "route": "central", "payer": "commercial"},
]

JSON_CLAIM = json.dumps({**OUTPATIENT_0540T, "id": "BENCH-OP-1"})
X12_CLAIM = inpatient_837i("BENCH-IP-1")


@dataclass
class Result:
    endpoint: str
    target_rps: float
    duration_s: float
    sent: int
    achieved_rps: float
    ok: int
    statuses: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    service_p50_ms: float  # from the request's actual write to its response (no queueing in the client)
    service_p99_ms: float
    server_cpu_ms_per_request: float | None  # user+system CPU of the server process / requests sent


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of the server and its worker processes (Linux /proc), to report its
    cost per request independently of how busy the machine is."""
    if pid is None or (own := _stat(pid)) is None:
        return None
    import os

    ticks = int(own[11]) + int(own[12])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) is not None and fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])  # a worker (`--workers N`): its parent is the server
    return ticks / os.sysconf("SC_CLK_TCK")


def _percentile(sorted_ms: Sequence[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))
    return sorted_ms[index]


@dataclass(frozen=True)
class Req:
    url: str
    content: bytes
    content_type: str


def _requests_for(endpoint: str) -> list[Req]:
    """The requests an endpoint cycles through."""
    if endpoint == "recommend":
        return [Req("/v1/recommend", json.dumps(e).encode(), "application/json") for e in ENCOUNTERS]
    return [Req("/v1/check", JSON_CLAIM.encode(), "application/json"),
            Req("/v1/check", X12_CLAIM.encode(), "text/plain")]


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read status, headers and body."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader = self.reader
        self.writer.write(raw)
        status = int((await reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _raw_request(host: str, req: Req, token: str | None) -> bytes:
    headers = {"Host": host, "Content-Length": str(len(req.content)), "Content-Type": req.content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    head = f"POST {req.url} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + req.content


async def drive(base_url: str, endpoint: str, rate: float, duration: float, connections: int,
                token: str | None, server_pid: int | None = None) -> Result:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    raws = [_raw_request(f"{host}:{port}", body, token) for body in _requests_for(endpoint)]
    latencies: list[float] = []
    service: list[float] = []
    statuses: Counter[str] = Counter()
    total = int(rate * duration)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        conn = Connection(host, port)
        for raw in raws:  # open and warm every connection outside the measurement
            await conn.request(raw)
        pool.put_nowait(conn)
    cpu_before = _cpu_seconds(server_pid)
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()  # waiting for a free connection counts: the clock started at `scheduled`
        sent = time.perf_counter()
        try:
            statuses[str(await asyncio.wait_for(conn.request(raws[i % len(raws)]), timeout=30))] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError) as exc:
            statuses[type(exc).__name__] += 1
            conn.close()
        finally:
            pool.put_nowait(conn)
        done = time.perf_counter()
        latencies.append((done - scheduled) * 1000)
        service.append((done - sent) * 1000)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    cpu_after = _cpu_seconds(server_pid)
    cpu_ms = None if cpu_before is None or cpu_after is None else round((cpu_after - cpu_before) * 1000 / total, 3)
    while not pool.empty():
        pool.get_nowait().close()
    ordered = sorted(latencies)
    served = sorted(service)
    return Result(
        endpoint=endpoint, target_rps=rate, duration_s=round(elapsed, 2), sent=total,
        achieved_rps=round(total / elapsed, 1), ok=statuses.get("200", 0), statuses=dict(statuses),
        p50_ms=round(statistics.median(ordered), 2), p90_ms=round(_percentile(ordered, 0.90), 2),
        p99_ms=round(_percentile(ordered, 0.99), 2), max_ms=round(ordered[-1], 2),
        service_p50_ms=round(statistics.median(served), 2), service_p99_ms=round(_percentile(served, 0.99), 2),
        server_cpu_ms_per_request=cpu_ms,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="drive a running server instead of starting one")
    parser.add_argument("--token", help="bearer token of the server (--url)")
    parser.add_argument("--rate", type=float, default=200.0, help="target requests/s per endpoint (default 200)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (cartcode serve --workers)")
    parser.add_argument("--endpoints", default="recommend,check", help="comma list: recommend, check")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.duration > 300 or args.connections < 1:
        parser.error("--rate > 0, 0 < --duration <= 300 and --connections >= 1")

    results: list[Result] = []
    server_pid: int | None = None
    with ExitStack() as stack:
        if args.url:
            base_url = args.url.rstrip("/")
        else:
            from tests.serverproc import running_server

            # log level info: an access line per request, as in production
            server = stack.enter_context(running_server(workers=args.workers))
            base_url, server_pid = server.url, server.process.pid
        print(f"cartcode serve ({args.workers} process{'es' if args.workers > 1 else ''}) at {base_url}: "
              f"{args.rate:g} req/s for {args.duration:g} s per endpoint, "
              f"{args.connections} connections (latency from each request's scheduled send time)")
        print(f"{'endpoint':<10} {'sent':>6} {'req/s':>7} {'200s':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'svc p99':>8} {'cpu ms/req':>10}  statuses")
        for endpoint in [e.strip() for e in args.endpoints.split(",") if e.strip()]:
            if endpoint not in ("recommend", "check"):
                parser.error(f"unknown endpoint {endpoint!r}")
            result = asyncio.run(
                drive(base_url, endpoint, args.rate, args.duration, args.connections, args.token, server_pid)
            )
            cpu = result.server_cpu_ms_per_request
            results.append(result)
            print(f"{result.endpoint:<10} {result.sent:>6} {result.achieved_rps:>7.1f} {result.ok:>6} "
                  f"{result.p50_ms:>8.2f} {result.p90_ms:>8.2f} {result.p99_ms:>8.2f} {result.max_ms:>8.2f} "
                  f"{result.service_p99_ms:>8.2f} "
                  f"{'-' if cpu is None else f'{cpu:.2f}':>10}  {result.statuses}")
    import os

    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.2f} (1 min) on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    failed = any(r.ok != r.sent for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
