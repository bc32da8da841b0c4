"""Run `cartcode serve` as a child process on a free loopback port (tests and bench/load_api.py).

The server binds port 0 and we read the port uvicorn reports, so there is no race for a port
picked in advance. Its stdout and stderr go to a file: the canary test reads that file to prove
that no claim content reaches the logs of a real server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:([0-9]+)")


@dataclass(frozen=True)
class ServerProcess:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:  # refused, reset, or an HTTP error status
        return False


def serve_command() -> list[str]:
    """`cartcode serve`: the console script beside this interpreter, else `python -m cartcode`."""
    script = Path(sys.executable).with_name("cartcode")
    if script.exists():
        return [str(script), "serve"]
    found = shutil.which("cartcode")
    return [found, "serve"] if found else [sys.executable, "-m", "cartcode", "serve"]


@contextmanager
def running_server(
    *,
    token: str | None = None,
    host: str | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    log_path: Path | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[ServerProcess]:
    """Start `cartcode serve --port 0 ARGS`, yield once it listens on loopback, stop it after.

    Without `host` the server's default address is used, so the wait also proves the default is
    127.0.0.1. The port is read from uvicorn's INFO line: keep `--log-level` at info or debug."""
    env = {k: v for k, v in os.environ.items() if k != "CARTCODE_TOKEN"}
    if token is not None:
        env["CARTCODE_TOKEN"] = token  # through the environment, as a deployment would
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="cartcode-serve-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*serve_command(), *(["--host", host] if host else []), "--port", "0", "--workers", str(workers), *args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    try:
        deadline = time.monotonic() + startup_timeout
        port = 0
        while not port:
            match = _RUNNING.search(log_path.read_text(encoding="utf-8", errors="replace"))
            if match:
                port = int(match.group(1))
            elif process.poll() is not None:
                raise RuntimeError(f"cartcode serve exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            elif time.monotonic() > deadline:
                raise RuntimeError(f"cartcode serve did not start within {startup_timeout:.0f} s")
            else:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        # With --workers the parent binds (and logs the port) before any worker listens: wait for
        # /healthz, and for every worker to have loaded the KB.
        while not _healthy(url) or log_path.read_text(errors="replace").count("Application startup complete") < workers:
            if process.poll() is not None:
                raise RuntimeError(f"cartcode serve exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"cartcode serve did not answer /healthz within {startup_timeout:.0f} s")
            time.sleep(0.1)
        yield ServerProcess(url=url, port=port, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
