"""The REST API in-process (starlette TestClient): contract answers, strict validation, errors,
token, size limit, headers and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cartcode.checker._engine import check
from cartcode.kb.loader import KB
from cartcode.recommender._recommend import recommend
from cartcode.server._app import create_app
from samples import OUTPATIENT_0540T

BREYANZI = {"setting": "inpatient", "date": "2025-06-01", "product": "Breyanzi", "route": "central",
            "payer": "medicare"}



@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _codes(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in answer["codes"]}


# ----------------------------------------------------------------------------- recommend
def test_recommend_answers_the_contract_and_matches_the_library(client: TestClient, kb: KB) -> None:
    response = client.post("/v1/recommend", json=BREYANZI)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert ("ICD-10-PCS", "XW043N7") in _codes(answer)
    assert ("revenue", "0874") in _codes(answer)
    assert answer["kb"] == kb.stamp()
    assert set(answer) >= {"kb", "encounter", "codes", "payment", "warnings"}
    assert answer == recommend(BREYANZI, kb=kb).to_json()  # the same answer as the library / CLI


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"expanded_access": 1}, "expanded_access"),  # lax pydantic would make this True
        ({"expanded_access": "true"}, "expanded_access"),
        ({"date": 20250601}, "date"),  # lax pydantic would read a Unix timestamp
        ({"date": "2025-06-01T00:00:00"}, "date"),
        ({"date": "20250601"}, "date"),
        ({"date": "2025-02-30"}, "date"),
        ({"setting": "Inpatient"}, "setting"),
        ({"route": "arterial"}, "route"),
        ({"payer": 1}, "payer"),
        ({"product": 2054}, "product"),
        ({"product": ""}, "product"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_recommend_refuses_coercion_and_unknown_values(client: TestClient, patch: dict[str, Any], field: str) -> None:
    response = client.post("/v1/recommend", json={**BREYANZI, **patch})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422
    assert any(d["loc"][-1] == field for d in body["details"]), body


def test_recommend_missing_field_is_422(client: TestClient) -> None:
    body = {k: v for k, v in BREYANZI.items() if k != "setting"}
    response = client.post("/v1/recommend", json=body)
    assert response.status_code == 422
    assert response.json()["details"][0]["loc"] == ["body", "setting"]


def test_validation_errors_never_echo_the_request(client: TestClient) -> None:
    response = client.post("/v1/recommend", json={**BREYANZI, "date": "CANARY-1923-04-05", "x": "CANARY-NAME"})
    assert response.status_code == 422
    assert "CANARY" not in response.text


def test_unknown_product_is_422_with_close_matches(client: TestClient) -> None:
    response = client.post("/v1/recommend", json={**BREYANZI, "product": "Breyanzzi"})
    assert response.status_code == 422
    assert "breyanzi" in response.json()["error"].lower()


@pytest.mark.parametrize("body", [b"{not json", b'{"setting": "inpatient",}', b"\xff\xfe"])
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/recommend", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400


def test_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    response = client.post("/v1/recommend", json=[BREYANZI])
    assert response.status_code == 422


# --------------------------------------------------------------------------------- check
def _checked_as_the_engine(client: TestClient, kb: KB, data: str | bytes, content_type: str) -> dict[str, Any]:
    """The report /v1/check answers for `data`: 200, and the same as the engine's."""
    response = client.post("/v1/check", content=data, headers={"Content-Type": content_type})
    assert response.status_code == 200
    report: dict[str, Any] = response.json()
    assert report == check(data, filename="request", kb=kb).to_json()
    return report


def test_check_json_claim_matches_the_engine(client: TestClient, kb: KB) -> None:
    data = json.dumps(OUTPATIENT_0540T)
    report = _checked_as_the_engine(client, kb, data, "application/json")
    (claim,) = report["claims"]
    assert claim["id"] == "CLM-OP-1" and claim["status"] == "checked"
    deleted = [f for f in claim["findings"] if {"system": "CPT", "code": "0540T"} in f["codes"]]
    assert deleted and deleted[0]["severity"] == "error"
    assert {"system": "CPT", "code": "38228"} in deleted[0]["fix"]["add"]
    assert deleted[0]["sources"] and deleted[0]["location"]["path"] == "$.lines[0].code"


def test_check_reads_the_format_from_content_not_media_type(client: TestClient) -> None:
    data = json.dumps({"claims": [OUTPATIENT_0540T, {**OUTPATIENT_0540T, "id": "CLM-OP-2"}]})
    response = client.post("/v1/check", content=data, headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["claims"]] == ["CLM-OP-1", "CLM-OP-2"]


def test_check_unreadable_claim_is_failed_not_an_http_error(client: TestClient) -> None:
    data = json.dumps({"claims": [{"id": "BAD", "kind": "institutional", "lines": "nope"}, OUTPATIENT_0540T]})
    response = client.post("/v1/check", content=data, headers={"content-type": "application/json"})
    assert response.status_code == 200
    first, second = response.json()["claims"]
    assert first["status"] == "failed" and "$.claims[0].lines" in first["error"]
    assert second["status"] == "checked"


@pytest.mark.parametrize("body", [b"", b"  \n "])
def test_check_empty_body_is_400(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/check", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400


def test_check_input_that_is_no_claim_file_is_422(client: TestClient) -> None:
    response = client.post("/v1/check", content=b"hello, not a claim", headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["error"]


# ------------------------------------------------------------------------- rules, codes, kb
def test_rules_list_and_each_rule_document(client: TestClient) -> None:
    from cartcode.checker._registry import all_rules

    listing = client.get("/v1/rules").json()
    ids = [r["id"] for r in listing["rules"]]
    assert ids == [r.id for r in all_rules()] and ids
    for rule_id in ids:
        doc = client.get(f"/v1/rules/{rule_id}").json()
        assert doc["id"] == rule_id and doc["name"] and doc["doc"]
    first = listing["rules"][0]
    assert client.get(f"/v1/rules/{first['name']}").json()["id"] == first["id"]  # by readable name
    assert client.get("/v1/rules/NOPE999").status_code == 404


def test_code_documentation(client: TestClient, kb: KB) -> None:
    info = client.get("/v1/codes/XW043N7").json()
    assert info["code"] == "XW043N7"
    assert [r["system"] for r in info["rows"]] == ["ICD-10-PCS"]
    cited = {s for r in info["rows"] for s in r["sources"]}
    assert cited <= set(info["sources"]) and cited
    assert info["sources"]["astct-2025-04"]["publisher"] == "ASTCT"
    # revenue codes in their 3-digit form, and the optional system filter
    assert client.get("/v1/codes/874").json()["rows"][0]["code"] == "0874"
    deleted = client.get("/v1/codes/0540T", params={"system": "CPT"}).json()["rows"]
    assert deleted[-1]["effective_to"] == "2024-12-31" and deleted[-1]["successors"] == ["38228"]
    assert client.get("/v1/codes/0540T", params={"system": "HCPCS"}).status_code == 404
    assert client.get("/v1/codes/0540T", params={"system": "cpt"}).status_code == 422
    assert client.get("/v1/codes/ZZZZZZZ").status_code == 404


def test_kb_endpoint(client: TestClient, kb: KB) -> None:
    info = client.get("/v1/kb").json()
    assert {"edition": info["edition"], "as_of": info["as_of"]} == kb.stamp()
    assert {s["id"] for s in info["sources"]} == set(kb.sources)
    assert {p["id"] for p in info["products"]} == {p.id for p in kb.products}


def test_healthz(client: TestClient, kb: KB) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "kb": kb.stamp()}


def test_unknown_route_and_method(client: TestClient) -> None:
    assert client.get("/v1/nothing").status_code == 404
    assert client.get("/v1/recommend").status_code == 405


# ------------------------------------------------------------------------------- safety
def test_security_headers_and_no_caching_of_answers(client: TestClient) -> None:
    response = client.post("/v1/recommend", json=BREYANZI)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "server" not in response.headers or "uvicorn" not in response.headers["server"]


def test_token_is_required_on_every_v1_route_when_set() -> None:
    with TestClient(create_app(token="s3cret")) as c:
        for method, path in [("GET", "/v1/kb"), ("GET", "/v1/rules"), ("GET", "/v1/codes/0874"),
                             ("GET", "/v1/rules/CART001"), ("POST", "/v1/recommend"), ("POST", "/v1/check")]:
            response = c.request(method, path, json=BREYANZI if method == "POST" else None)
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
            wrong = c.request(method, path, headers={"Authorization": "Bearer s3cre"})
            assert wrong.status_code == 401
        ok = c.post("/v1/recommend", json=BREYANZI, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        # the page, its assets, liveness and the spec stay open
        for path in ("/", "/static/app.js", "/healthz", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        spec = c.get("/openapi.json").json()
        assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert spec["paths"]["/v1/recommend"]["post"]["security"] == [{"bearer": []}]
        assert "security" not in spec["paths"]["/healthz"]["get"]


def test_size_limit_on_content_length_and_on_the_streamed_body() -> None:
    with TestClient(create_app(max_body=2000)) as c:
        small = json.dumps(OUTPATIENT_0540T)
        assert c.post("/v1/check", content=small).status_code == 200
        big = b"ISA" + b"x" * 3000
        response = c.post("/v1/check", content=big)
        assert response.status_code == 413 and response.json()["status"] == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b" " * 500

        streamed = c.post("/v1/check", content=chunks())
        assert streamed.status_code == 413
        lying = c.post("/v1/check", content=big, headers={"content-length": "12"})
        assert lying.status_code in (400, 413)  # never reaches the route with more than it declared
        assert c.post("/v1/check", content=b"{}", headers={"content-length": "abc"}).status_code == 400


def test_default_size_limit_is_5_mb() -> None:
    with TestClient(create_app()) as c:
        over = b"[" + b" " * (5 * 1024 * 1024) + b"]"
        assert c.post("/v1/check", content=over).status_code == 413


def test_bad_max_body_is_refused() -> None:
    with pytest.raises(ValueError):
        create_app(max_body=0)


# ----------------------------------------------------------------------------- OpenAPI
def test_openapi_is_3_1_and_declares_every_error(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    expected = {
        ("/v1/recommend", "post"): {"200", "400", "401", "408", "413", "422"},
        ("/v1/check", "post"): {"200", "400", "401", "408", "413", "422", "503"},
        ("/v1/rules", "get"): {"200", "400", "401", "408", "413"},
        ("/v1/rules/{rule_id}", "get"): {"200", "400", "401", "404", "408", "413", "422"},
        ("/v1/codes/{code}", "get"): {"200", "400", "401", "404", "408", "413", "422"},
        ("/v1/kb", "get"): {"200", "400", "401", "408", "413"},
        ("/v1/fix", "post"): {"200", "400", "401", "408", "413", "422", "503"},
        ("/v1/products", "get"): {"200", "400", "401", "408", "413"},
        ("/healthz", "get"): {"200", "400", "408", "413"},
    }
    ops = {(p, m): set(op["responses"]) for p, item in spec["paths"].items() for m, op in item.items()}
    assert ops == expected
    error_ref = "#/components/schemas/Error"
    for (path, method), statuses in expected.items():
        for status in statuses - {"200"}:
            schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": error_ref}, (path, status)


def test_openapi_request_schemas_are_strict(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    encounter = spec["components"]["schemas"]["Encounter"]
    props = encounter["properties"]
    assert encounter["additionalProperties"] is False
    assert set(encounter["required"]) == {"setting", "date", "product"}
    assert props["date"]["format"] == "date"
    assert {"type": "boolean"} in props["expanded_access"]["anyOf"]
    check_body = spec["paths"]["/v1/check"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/plain"} <= set(check_body)


def test_openapi_product_pattern_is_exactly_the_kb_names(client: TestClient, kb: KB) -> None:
    import re

    from cartcode.server._app import product_names

    pattern = re.compile(client.get("/openapi.json").json()["components"]["schemas"]["Encounter"]["properties"]
                         ["product"]["pattern"])
    names = product_names(kb)
    assert "Breyanzi" in names and "Q2054" in names
    for name in names:
        assert kb.product(name) is not None, name  # every documented name resolves
        for variant in (name, name.upper(), name.lower(), f" {name} "):
            assert pattern.search(variant), variant
    for unknown in ("Breyanzzi", "Q9999", "", "breyanzi x"):
        assert not pattern.search(unknown), unknown
        assert kb.product(unknown) is None


def test_error_kinds_tell_schema_from_input_refusals(client: TestClient) -> None:
    schema = client.post("/v1/recommend", json={**BREYANZI, "expanded_access": 1}).json()
    assert (schema["status"], schema["kind"]) == (422, "schema")
    domain = client.post("/v1/recommend", json={**BREYANZI, "date": "2000-01-01"}).json()
    assert (domain["status"], domain["kind"]) == (422, "input")
    assert "2000-01-01" in domain["error"]
    assert client.get("/v1/codes/NOPE").json()["kind"] == "not-found"


def test_bearer_scheme_is_case_insensitive_and_token_exact() -> None:
    with TestClient(create_app(token="s3cret")) as c:
        assert c.get("/v1/kb", headers={"Authorization": "bearer s3cret"}).status_code == 200
        assert c.get("/v1/kb", headers={"Authorization": "Basic s3cret"}).status_code == 401
        assert c.get("/v1/kb", headers={"Authorization": "Bearer s3cret2"}).status_code == 401
        assert c.get("/v1/kb", headers={"Authorization": "s3cret"}).status_code == 401


def test_allowed_hosts_refuse_other_host_names() -> None:
    from cartcode.server._app import LOOPBACK_HOSTS

    with TestClient(create_app(allowed_hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/healthz", headers={"Host": "[::1]:8000"}).status_code == 200
        rebound = c.get("/", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400 and rebound.json()["kind"] == "malformed"
        assert c.get("/v1/kb", headers={"Host": "127.0.0.1.attacker.example"}).status_code == 400


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("**/*.*"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_check_examples_answer_as_the_engine(client: TestClient, kb: KB, path: Path) -> None:
    data = path.read_bytes()
    report = _checked_as_the_engine(client, kb, data, "application/octet-stream")
    assert all(c["status"] == "checked" for c in report["claims"])


def test_check_fhir_claim(client: TestClient, kb: KB) -> None:
    claim = {
        "resourceType": "Claim", "id": "FHIR-1", "status": "active", "use": "claim", "priority": {"coding": [
            {"code": "normal"}]},
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": "Patient/p1"}, "provider": {"reference": "Organization/o1"},
        "created": "2025-06-02", "billablePeriod": {"start": "2025-05-25", "end": "2025-06-01"},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
        "procedure": [{"sequence": 1, "procedureCodeableConcept": {"coding": [
            {"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "XW043C3"}]}}],
    }
    data = json.dumps(claim)
    report = _checked_as_the_engine(client, kb, data, "application/fhir+json")
    (result,) = report["claims"]
    assert result["id"] == "FHIR-1" and result["status"] == "checked"
    assert any({"system": "ICD-10-PCS", "code": "XW043C3"} in f["codes"] for f in result["findings"])


def test_no_outbound_network(monkeypatch: pytest.MonkeyPatch, kb: KB) -> None:
    """Claims hold PHI: answering must not open a connection or even resolve a name."""
    import socket

    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError("outbound network refused by the test")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    with TestClient(create_app()) as c:
        assert c.post("/v1/recommend", json=BREYANZI).status_code == 200
        for path in EXAMPLES:
            assert c.post("/v1/check", content=path.read_bytes()).status_code == 200
        fhir = {"resourceType": "Claim", "id": "F", "status": "active", "use": "claim",
                "type": {"coding": [{"code": "institutional"}]}, "created": "2025-06-02"}
        assert c.post("/v1/check", json=fhir).status_code == 200
        for url in ("/v1/rules", "/v1/rules/CART101", "/v1/codes/XW043N7", "/v1/kb", "/", "/static/app.js"):
            assert c.get(url).status_code == 200, url
    assert attempts == []


def test_api_encounter_has_the_same_fields_as_recommend() -> None:
    """The strict request model mirrors cartcode.recommender._encounter.Encounter: a field added there must be
    added here (else the API refuses it as unknown)."""
    from cartcode.recommender._encounter import Encounter as LibraryEncounter
    from cartcode.server._models import Encounter as ApiEncounter

    assert set(ApiEncounter.model_fields) == set(LibraryEncounter.model_fields)


def test_rule_documents_carry_their_examples(client: TestClient) -> None:
    import yaml

    from cartcode.checker._registry import all_rules

    for spec in all_rules():
        doc = client.get(f"/v1/rules/{spec.id}").json()
        cases = yaml.safe_load(spec.cases_path.read_text())["cases"]
        assert [ex["name"] for ex in doc["examples"]] == [case["name"] for case in cases], spec.id
    cart101 = client.get("/v1/rules/CART101").json()["examples"]
    assert any(ex["expect"] for ex in cart101) and any(not ex["expect"] for ex in cart101)  # bad and good
