"""A short, bounded abuse run against a real `cartcode serve` on 127.0.0.1 (issue 14): oversized
headers, slow headers and bodies, expensive claim files from several clients at once, the token
from a file; /healthz must stay fast, nothing may echo or log the claims, and the server lives."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import httpx

from samples import CANARIES, big_837i
from serverproc import ServerProcess, running_server

TOKEN = "CANARYTOKENFILEQX-0123456789"


def _healthz_seconds(srv: ServerProcess) -> float:
    t0 = time.monotonic()
    assert httpx.get(f"{srv.url}/healthz", timeout=10).status_code == 200
    return time.monotonic() - t0


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (TimeoutError, BlockingIOError):
        return False


def test_abuse_of_a_real_server(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    args = ["--token-file", str(token_file), "--header-timeout", "1", "--body-timeout", "1", "--max-header-size",
            "16384"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running_server(args=args, log_path=tmp_path / "server.log") as srv:
        # the token came from a file: it is not on the command line (ps shows that to every user)
        cmdline = Path(f"/proc/{srv.process.pid}/cmdline").read_bytes()
        assert TOKEN.encode() not in cmdline
        assert httpx.get(f"{srv.url}/v1/kb", timeout=10).status_code == 401
        assert httpx.get(f"{srv.url}/v1/kb", headers=auth, timeout=10).status_code == 200

        # a 100 KB header is refused (a 10 MB one was accepted): a 400, or - when the server closes
        # while the client is still sending the rest of the header - a connection reset; either
        # way the request is not served, and the server goes on answering
        try:
            refused = httpx.get(f"{srv.url}/healthz", headers={"X-Filler": "a" * 100_000}, timeout=10).status_code
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            refused = 400
        assert refused == 400
        assert httpx.get(f"{srv.url}/healthz", timeout=10).status_code == 200

        # slow headers: 40 connections that trickle a header are closed after --header-timeout
        slow: list[socket.socket] = []
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(s)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            for s in slow:
                with contextlib.suppress(OSError):
                    s.sendall(b"X")  # a byte at a time, as slowloris does
            time.sleep(0.3)
        for s in slow:
            s.settimeout(2)
        assert all(_closed_by_server(s) for s in slow)
        for s in slow:
            s.close()

        # a body that trickles in gets 408
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode()
                  + b"\r\nContent-Length: 1000\r\n\r\n{")
        s.settimeout(5)
        answer = s.recv(4096)
        s.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]

        # four clients send a 5 MB single-claim 837I with 104,166 service lines at once: 413, fast,
        # and /healthz answers meanwhile (it took 8.6 s)
        body = big_837i(104_166)
        statuses: list[int] = []

        def send() -> None:
            r = httpx.post(f"{srv.url}/v1/check", content=body, headers=auth, timeout=60)
            statuses.append(r.status_code)
            assert all(c not in r.text for c in CANARIES)

        clients = [threading.Thread(target=send) for _ in range(4)]
        for c in clients:
            c.start()
        slowest = max(_healthz_seconds(srv) for _ in range(5))
        for c in clients:
            c.join(60)
        assert statuses == [413] * 4
        assert slowest < 1.0, f"/healthz took {slowest:.2f} s"

        # still healthy, and an ordinary check still works
        ok = httpx.post(f"{srv.url}/v1/check", content=big_837i(3), headers=auth, timeout=30)
        assert ok.status_code == 200
        logs = srv.logs()
    for canary in (*CANARIES, TOKEN):
        assert canary not in logs
    assert len(logs.splitlines()) < 200  # one line per request, no floods
