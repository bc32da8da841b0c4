"""POST /v1/fix (the page's "apply fixes" and download) and GET /v1/products (its product picker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cartcode.checker._engine import check, fix
from cartcode.kb.loader import KB
from cartcode.server._app import create_app, product_names, static_dir

EXAMPLES = static_dir() / "examples"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir()))
def test_every_safe_fix_is_what_check_fix_writes(client: TestClient, name: str) -> None:
    data = (EXAMPLES / name).read_bytes()
    response = client.post("/v1/fix", content=data)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == fix(data, "request", check(data, filename="request"))
    report = check(data, filename="request").to_json()
    safe = {(f["fix"]["title"], str(f["fix"])) for c in report["claims"] for f in c["findings"]
            if f.get("fix") and f["fix"]["safe"]}
    assert int(response.headers["x-cartcode-fixes-applied"]) <= len(safe) + 10


def test_one_fix_at_a_time_and_unsafe_refused(client: TestClient) -> None:
    data = (EXAMPLES / "cart-837i-inpatient.x12").read_bytes()
    report = check(data, filename="request").to_json()
    refs = [f"{ci}.{fi}" for ci, c in enumerate(report["claims"]) for fi, f in enumerate(c["findings"])
            if f.get("fix") and f["fix"]["safe"]]
    assert len(refs) == 2
    one = client.post(f"/v1/fix?fix={refs[0]}", content=data)
    assert one.status_code == 200 and one.headers["x-cartcode-fixes-applied"] == "1"
    changed = [i for i, (a, b) in enumerate(zip(data.split(b"~"), one.content.split(b"~"), strict=True)) if a != b]
    assert len(changed) == 1  # byte-identical outside the fixed segment
    both = client.post(f"/v1/fix?fix={refs[0]}&fix={refs[1]}", content=data)
    assert both.content == client.post("/v1/fix", content=data).content

    mistakes = (EXAMPLES / "inpatient-mistakes.json").read_bytes()
    report = check(mistakes, filename="request").to_json()
    unsafe = next(f"{ci}.{fi}" for ci, c in enumerate(report["claims"]) for fi, f in enumerate(c["findings"])
                  if f.get("fix") and not f["fix"]["safe"])
    no_fix = next(f"{ci}.{fi}" for ci, c in enumerate(report["claims"]) for fi, f in enumerate(c["findings"])
                  if not f.get("fix"))
    for ref, words in ((unsafe, "not safe"), (no_fix, "has no fix"), ("99.0", "no finding"), ("x", "CLAIM.FINDING")):
        refused = client.post(f"/v1/fix?fix={ref}", content=mistakes)
        assert refused.status_code == 422 and words in refused.json()["error"], ref
        assert refused.json()["kind"] == "input"
    assert client.post("/v1/fix", content=b"  ").status_code == 400


def test_clean_claim_comes_back_unchanged(client: TestClient) -> None:
    data = (EXAMPLES / "inpatient-breyanzi-clean.json").read_bytes()
    response = client.post("/v1/fix", content=data)
    assert response.content == data and response.headers["x-cartcode-fixes-applied"] == "0"


def test_token_guards_fix_and_products() -> None:
    with TestClient(create_app(token="s3cret")) as c:
        assert c.post("/v1/fix", content=b"{}").status_code == 401
        assert c.get("/v1/products").status_code == 401


def test_products_lists_every_name_with_its_kind(client: TestClient, kb: KB) -> None:
    body = client.get("/v1/products").json()
    names = {n["name"]: n for n in body["names"]}
    assert set(names) == set(product_names(kb))
    assert names["Breyanzi"]["kind"] == "brand" and names["Q2054"]["kind"] == "hcpcs"
    assert names["lisocabtagene maraleucel"]["kind"] == "generic"
    for entry in body["names"]:
        assert kb.product(entry["name"]) is not None


def test_examples_are_served(client: TestClient) -> None:
    for path in EXAMPLES.iterdir():
        assert client.get(f"/static/examples/{path.name}").content == Path(path).read_bytes()
