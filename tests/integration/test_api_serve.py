"""`cartcode serve` on the command line: options, refusals (exit 2, no traceback), and a real
server answering with the token taken from the environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from cartcode.cli._serve_cmd import _is_loopback
from serverproc import running_server, serve_command


def test_help_lists_the_options() -> None:
    done = subprocess.run([*serve_command(), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--host", "--port", "--token", "CARTCODE_TOKEN", "--max-body", "--log-level"):
        assert option in done.stdout, option


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-level", "trace"], "--log-level"),  # uvicorn's trace level logs bodies: refused
        (["--token", "  "], "--token"),
    ],
)
def test_refusals_exit_2_with_a_message(args: list[str], message: str) -> None:
    done = subprocess.run([*serve_command(), "--port", "0", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True), ("0.0.0.0", False),
     ("10.1.2.3", False), ("example.org", False)],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def test_token_from_the_environment(tmp_path: Path) -> None:
    with running_server(token="env-token", log_path=tmp_path / "server.log") as srv:
        assert httpx.get(f"{srv.url}/v1/kb", timeout=10).status_code == 401
        ok = httpx.get(f"{srv.url}/v1/kb", headers={"Authorization": "Bearer env-token"}, timeout=10)
        assert ok.status_code == 200 and ok.json()["edition"]
        assert httpx.get(f"{srv.url}/healthz", timeout=10).status_code == 200
        assert "server" not in {k.lower() for k in ok.headers}  # no version banner
        # bound to loopback, it answers only to loopback names (DNS rebinding)
        rebound = httpx.get(f"{srv.url}/healthz", headers={"Host": "attacker.example"}, timeout=10)
        assert rebound.status_code == 400


def test_two_worker_processes_keep_the_settings_and_the_log_rules(tmp_path: Path) -> None:
    """`--workers 2`: the workers build the app from the environment `serve` sets: token, size
    limit, Host allow-list and the logging allow-list all hold in every worker."""
    claim = {"id": "CANARYWORKERCLM", "kind": "institutional", "type_of_bill": "131",
             "x-patient": {"name": "CANARYWORKERNAME", "member_id": "CANARYWORKERMBR", "dob": "1931-02-03"},
             "lines": [{"revenue_code": "0874", "code": "0540T", "date": "2025-03-10", "units": 1}]}
    with running_server(token="w-token", workers=2, args=["--max-body", "4000"],
                        log_path=tmp_path / "server.log") as srv:
        auth = {"Authorization": "Bearer w-token"}
        with httpx.Client(base_url=srv.url, timeout=10) as client:
            for _ in range(8):  # new connections: the kernel spreads them over both workers
                assert client.post("/v1/check", json=claim, headers={**auth, "Connection": "close"}).status_code == 200
                assert client.get("/v1/kb", headers={"Connection": "close"}).status_code == 401
            assert client.post("/v1/check", content=b"x" * 5000, headers=auth).status_code == 413
            assert client.get("/healthz", headers={"Host": "attacker.example"}).status_code == 400
        logs = srv.logs()
    assert logs.count("Application startup complete") == 2
    assert logs.count('"POST /v1/check" 200') == 8
    for canary in ("CANARYWORKER", "1931-02-03"):
        assert canary not in logs
