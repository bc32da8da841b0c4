"""No claim content in any log line: claims carrying canary names, member ids, dates of birth and
claim ids go through a real `cartcode serve` (uvicorn, debug log level) by every path we can
think of (good claims, broken claims, refused requests, query strings, paths, headers), and the
server's captured output must hold none of them, while still logging every request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from cartcode.server._app import create_app
from samples import inpatient_837i
from serverproc import ServerProcess, running_server

SURNAME = "CANARYSURNAMEQX"
GIVEN = "CANARYGIVENQX"
MEMBER = "CANARYMBR0042QX"
DOB_X12 = "19230405"
DOB_ISO = "1923-04-05"
CLAIM_ID = "CANARYCLM77"
STREET = "99 CANARYLANEQX"
CANARIES = (SURNAME, GIVEN, MEMBER, DOB_X12, DOB_ISO, CLAIM_ID, STREET, "CANARYQUERYQX", "CANARYPATHQX",
            "CANARYTOKENQX", "CANARYHEADERQX")


def x12_837i(claim_id: str = CLAIM_ID) -> str:
    """An inpatient CAR-T 837I whose subscriber (NM1*IL), address and DMG carry the canaries."""
    return inpatient_837i(claim_id, subscriber=(SURNAME, GIVEN, MEMBER), street=STREET, birth_date=DOB_X12)


def json_claim() -> dict[str, object]:
    return {
        "id": CLAIM_ID, "kind": "institutional", "type_of_bill": "111", "payer": "medicare",
        "statement_from": "2025-05-25", "statement_to": "2025-06-01", "discharge_date": "2025-06-01",
        "x-patient": {"name": f"{GIVEN} {SURNAME}", "member_id": MEMBER, "birth_date": DOB_ISO, "street": STREET},
        "diagnoses": ["C83.30"], "procedures": ["XW043N7"],
        "notes": [f"Patient {SURNAME} {GIVEN} member {MEMBER} born {DOB_ISO}"],
        "lines": [{"revenue_code": "0891", "code": "Q2054", "units": 1, "charge": 400000}],
    }


def fhir_claim() -> dict[str, object]:
    return {
        "resourceType": "Claim", "id": CLAIM_ID, "status": "active", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "contained": [{"resourceType": "Patient", "id": "p1", "name": [{"family": SURNAME, "given": [GIVEN]}],
                       "birthDate": DOB_ISO, "identifier": [{"value": MEMBER}]}],
        "patient": {"reference": "#p1", "display": f"{GIVEN} {SURNAME}"},
        "created": "2025-06-02", "billablePeriod": {"start": "2025-05-25", "end": "2025-06-01"},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": f"Medicare {MEMBER}"}}],
        "procedure": [{"sequence": 1, "procedureCodeableConcept": {"coding": [
            {"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "XW043N7"}]}}],
        "item": [{"sequence": 1, "revenue": {"coding": [{"code": "0891"}]},
                  "productOrService": {"coding": [{"code": "Q2054"}]}}],
    }


def broken_json_claim() -> dict[str, object]:
    """Fields that fail reading, with the canaries as their values (the error quotes them)."""
    return {"id": CLAIM_ID, "kind": "institutional", "discharge_date": f"{DOB_ISO}T{SURNAME}",
            "payer": MEMBER, "lines": [{"code": GIVEN, "units": STREET}]}


def _send_everything(client: httpx.Client | TestClient, *, with_token: str | None) -> int:
    """Every request path that could carry claim content into a log. Returns the request count."""
    auth = {"Authorization": f"Bearer {with_token}"} if with_token else {}
    sent = 0

    def go(method: str, url: str, *, content: bytes | None = None, json: object = None,
           params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
        nonlocal sent
        sent += 1
        merged = {**auth, "User-Agent": "CANARYHEADERQX", **(headers or {})}
        return client.request(method, url, content=content, json=json, params=params, headers=merged)

    checks = [
        (x12_837i(), "text/plain"),
        (x12_837i().replace("SV2*0891", "SV2*BROKEN"), "text/plain"),
        (x12_837i()[:400], "application/edi-x12"),  # truncated interchange
        (json.dumps(json_claim()), "application/json"),
        (json.dumps({"claims": [json_claim(), broken_json_claim()]}), "application/json"),
        (json.dumps(fhir_claim()), "application/fhir+json"),
        (json.dumps({**fhir_claim(), "item": f"{SURNAME}"}), "application/fhir+json"),
        (f"{SURNAME} {GIVEN} {MEMBER} {DOB_ISO}", "text/plain"),  # not a claim file: 422
        (f'{{"id": "{CLAIM_ID}", "name": "{SURNAME}"', "application/json"),  # not JSON: 422
    ]
    for body, media in checks:
        response = go("POST", "/v1/check", content=body.encode(), headers={"Content-Type": media})
        assert response.status_code < 500, (response.status_code, response.text[:300])
    encounters: list[dict[str, object]] = [
        {"setting": "inpatient", "date": "2025-06-01", "product": SURNAME},
        {"setting": "inpatient", "date": DOB_ISO, "product": "Breyanzi", "member_id": MEMBER},
        {"setting": "inpatient", "date": f"{DOB_X12}", "product": GIVEN},
    ]
    for encounter in encounters:
        assert go("POST", "/v1/recommend", json=encounter).status_code == 422
    assert go("POST", "/v1/recommend", content=f'{{"product": "{SURNAME}"'.encode(),
              headers={"Content-Type": "application/json"}).status_code == 400
    query = {"name": "CANARYQUERYQX", "dob": DOB_X12}
    assert go("GET", f"/v1/codes/CANARYPATHQX{MEMBER}", params=query).status_code == 404
    assert go("GET", f"/v1/rules/{SURNAME}").status_code == 404
    assert go("GET", f"/{SURNAME}/{DOB_X12}", params={"q": "CANARYQUERYQX"}).status_code == 404
    assert go("GET", "/healthz", params={"member": MEMBER}).status_code == 200
    big = (x12_837i() * 200).encode()  # over the server's --max-body below
    assert go("POST", "/v1/check", content=big, headers={"Content-Type": "text/plain"}).status_code == 413
    return sent


def _raw_exchange(port: int, raw: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def _assert_clean(logs: str) -> None:
    upper = logs.upper()
    leaked = [c for c in CANARIES if c.upper() in upper]
    assert not leaked, f"claim content in the server log: {leaked}\n{logs[-3000:]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("phi") / "server.log"
    args = ["--log-level", "debug", "--max-body", "100000"]
    with running_server(token="s3cret-token", log_path=log, args=args) as srv:
        yield srv


def test_canaries_never_reach_the_logs_of_a_real_server(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        sent = _send_everything(client, with_token="s3cret-token")
        # refused before anything is read: a wrong token that is itself a canary
        refused = client.post("/v1/check", content=x12_837i().encode(),
                              headers={"Authorization": "Bearer CANARYTOKENQX"})
        assert refused.status_code == 401
    # malformed HTTP carrying claim content: the protocol layer's warnings must not quote it
    for raw in (f"{SURNAME} /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
                f"GET /{MEMBER} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-{GIVEN}: {DOB_X12}\r\n\r\n".encode(),
                f"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x{DOB_X12}\r\n\r\n".encode()):
        _raw_exchange(server.port, raw)
    logs = _wait_for_access_lines(server, sent + 2)  # + the start-up probe of /healthz
    _assert_clean(logs)
    # the log is not empty by accident: one line per request, with the route template only
    assert '"POST /v1/check" 200' in logs
    assert '"GET /v1/codes/{code}" 404' in logs
    assert '"POST /v1/check" 413' in logs and '"POST /v1/check" 401' in logs


def test_server_binds_loopback_by_default_and_logs_no_query_strings(tmp_path: Path) -> None:
    with running_server(log_path=tmp_path / "server.log") as srv:
        assert srv.url.startswith("http://127.0.0.1:")  # no --host given: the default address
        assert httpx.get(f"{srv.url}/healthz", params={"member": MEMBER}, timeout=10).status_code == 200
        logs = _wait_for_access_lines(srv, 2)  # + the start-up probe
    _assert_clean(logs)
    assert '"GET /healthz" 200' in logs


def _wait_for_access_lines(server: ServerProcess, count: int) -> str:
    """The access lines are written after each response: wait until all of them are in the file."""
    import time

    deadline = time.monotonic() + 10
    logs = server.logs()
    while logs.count("cartcode.access") < count and time.monotonic() < deadline:
        time.sleep(0.1)
        logs = server.logs()
    assert logs.count("cartcode.access") >= count, logs[-2000:]
    return logs


def test_no_module_logs_claim_content_in_process(caplog: pytest.LogCaptureFixture) -> None:
    """Stricter than the server's allow-list: no logger at all (ours or a library's, any level)
    receives claim content while claims are read, checked and refused."""
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(max_body=100000), base_url="http://127.0.0.1") as client:
        _send_everything(client, with_token=None)
    assert caplog.records, "expected at least the access log records"
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # the test's client
    _assert_clean("\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in server_side))


def test_access_log_never_quotes_a_method_or_path_it_does_not_know(caplog: pytest.LogCaptureFixture) -> None:
    """Behind a permissive HTTP parser (h11) any token is a method: the access line says OTHER."""
    import asyncio

    app = create_app()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": SURNAME,
             "scheme": "http", "path": f"/{MEMBER}", "raw_path": f"/{MEMBER}".encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8000)}
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.INFO, logger="cartcode.access")
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 404
    line = next(r.getMessage() for r in caplog.records if r.name == "cartcode.access")
    assert '"OTHER <no route>" 404' in line
    _assert_clean(line)
