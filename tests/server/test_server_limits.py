"""The API's limits in process (issue 14): work per check (claims, service lines, segments) -> 413
before any claim is built, a bounded pool of checks with a time limit -> 503, a body read timeout
-> 408, a rate-limited error log, and error bodies that never echo what was sent."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from cartcode.server import _app as app_module
from cartcode.server._app import create_app
from samples import CANARIES, big_837i


def _claim(claim_id: str, lines: int = 1) -> dict[str, Any]:
    return {"id": claim_id, "kind": "professional", "place_of_service": "22", "payer": "medicare",
            "medicare_part": "B", "diagnoses": [{"code": "C83.38", "kind": "principal"}],
            "lines": [{"code": "38228", "units": 1, "charge": 5000, "date": "2025-03-10"}] * lines}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def test_a_claim_with_too_many_service_lines_is_413_before_it_is_read(client: TestClient) -> None:
    body = big_837i(104_166)
    assert 4_500_000 < len(body) < 5 * 1024 * 1024  # under the body limit: the work limit has to catch it
    started = time.process_time()
    response = client.post("/v1/check", content=body)
    assert response.status_code == 413, response.text[:300]
    assert time.process_time() - started < 1.5  # it cost 6.2 s of CPU (and 1.4 GB) when it was read
    error = response.json()
    assert error["kind"] == "too-large" and "10000 service lines" in error["error"] and "--max-lines" in error["error"]
    for canary in CANARIES:
        assert canary not in response.text


def test_the_work_limits_are_configurable() -> None:
    from cartcode.server._limits import WorkLimits

    limited = TestClient(create_app(work_limits=WorkLimits(max_claims=3, max_lines=10, max_segments=60)))
    ok = limited.post("/v1/check", json={"claims": [_claim("A"), _claim("B"), _claim("C")]})
    assert ok.status_code == 200
    claims = limited.post("/v1/check", json={"claims": [_claim(f"C{i}") for i in range(4)]})
    assert claims.status_code == 413 and "3 claims" in claims.json()["error"]
    lines = limited.post("/v1/check", json=_claim("L", lines=11))
    assert lines.status_code == 413 and "10 service lines" in lines.json()["error"]
    segments = TestClient(create_app(work_limits=WorkLimits(max_segments=60))).post("/v1/check", content=big_837i(20))
    assert segments.status_code == 413 and "60 X12 segments" in segments.json()["error"]
    ndjson = "\n".join(json.dumps(_claim(f"N{i}")) for i in range(4)) + "\n"
    assert limited.post("/v1/check", content=ndjson).status_code == 413


def test_an_unknown_product_is_not_echoed(client: TestClient) -> None:
    encounter = {"setting": "inpatient", "date": "2025-06-01", "product": "CANARYPRODUCTQX", "payer": "medicare"}
    response = client.post("/v1/recommend", json=encounter)
    assert response.status_code == 422
    assert "CANARYPRODUCTQX" not in response.text and "canaryproductqx" not in response.text.casefold()
    assert "unknown product" in response.json()["error"]
    close = client.post("/v1/recommend", json={**encounter, "product": "Breyanzzi"})
    assert close.status_code == 422 and "Breyanzzi" not in close.text and "breyanzi" in close.text.casefold()


def _slow_check(monkeypatch: pytest.MonkeyPatch, seconds: float) -> threading.Event:
    started = threading.Event()
    real = app_module.check

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "check", slow)
    return started


def test_checks_are_bounded_and_healthz_stays_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from cartcode.server._limits import CheckGate

    started = _slow_check(monkeypatch, 1.5)
    client = TestClient(create_app(check_gate=CheckGate(max_concurrent=1, max_queued=0, timeout=10)))
    body = json.dumps(_claim("SLOW")).encode()
    first: dict[str, int] = {}
    worker = threading.Thread(target=lambda: first.update(status=client.post("/v1/check", content=body).status_code))
    worker.start()
    assert started.wait(10)
    t0 = time.monotonic()
    assert client.get("/healthz").status_code == 200
    assert time.monotonic() - t0 < 0.5  # the check runs off the event loop
    busy = client.post("/v1/check", content=body)
    assert busy.status_code == 503 and busy.json()["kind"] == "busy" and busy.headers["retry-after"]
    worker.join(30)
    assert first["status"] == 200


def test_a_check_over_its_time_limit_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    from cartcode.server._limits import CheckGate

    _slow_check(monkeypatch, 2.0)
    client = TestClient(create_app(check_gate=CheckGate(max_concurrent=1, max_queued=4, timeout=0.3)))
    t0 = time.monotonic()
    response = client.post("/v1/check", content=json.dumps(_claim("SLOW")).encode())
    assert response.status_code == 503 and "--check-timeout" in response.json()["error"]
    assert time.monotonic() - t0 < 1.5


def test_a_body_that_trickles_in_gets_408() -> None:
    from cartcode.server._middleware import BodyLimitMiddleware

    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.1)
        return {"type": "http.request", "body": b"x", "more_body": True}  # never ends

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = BodyLimitMiddleware(app, max_body=10_000, body_timeout=0.5)
    t0 = time.monotonic()
    asyncio.run(middleware({"type": "http", "headers": []}, receive, send))
    assert time.monotonic() - t0 < 2
    assert sent[0]["status"] == 408 and not reached
    assert json.loads(sent[1]["body"])["kind"] == "timeout"


def test_500s_do_not_flood_the_error_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from cartcode.server import _middleware

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CANARYSURNAMEQX")

    monkeypatch.setattr(app_module, "check", broken)
    monkeypatch.setattr(_middleware, "_errors", _middleware.RateLimitedLog(_middleware.error_log, burst=5, window=60))
    client = TestClient(create_app(), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="cartcode.server._app"):
        for _ in range(40):
            response = client.post("/v1/check", content=json.dumps(_claim("X")).encode())
            assert response.status_code == 500
    lines = [r for r in caplog.records if r.name == "cartcode.server._app"]
    assert len(lines) == 5
    assert all("CANARY" not in r.getMessage() for r in lines)


def test_the_rate_limited_log_says_how_many_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    from cartcode.server._middleware import RateLimitedLog

    log = RateLimitedLog(logging.getLogger("cartcode.test.ratelimit"), burst=2, window=0.2)
    with caplog.at_level(logging.ERROR, logger="cartcode.test.ratelimit"):
        for i in range(10):
            log.error("error %d", i)
        time.sleep(0.25)
        log.error("after the window")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["error 0", "error 1", "8 more unhandled errors in the last 0 s were not logged",
                        "after the window"]
