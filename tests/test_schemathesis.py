"""schemathesis against the app's own live OpenAPI document (fetched from /openapi.json, app run
in-process): valid and invalid requests for every operation; no 5xx, every status declared,
every response body and header matching the document, invalid input refused, auth not ignored.

One built-in check is replaced: `positive_data_acceptance` wants every schema-valid request
accepted, but a schema cannot say that no CAR-T code is valid for an autologous product on an
inpatient discharge in 2000, or that a string is not an X12 file. Our replacement is as strict
about the schema itself: a schema-valid request may be refused only as a *domain* refusal (422
with kind `input`, naming what is wrong) or a lookup miss (404), never by the server's own
schema validation (kind `schema`), which would mean the document and the server disagree.

Bounded: at most 30 examples per operation and generation mode, no deadline (2 shared cores).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cartcode.api import create_app

TOKEN = "schemathesis-token"

open_schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
secured_schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(token=TOKEN))

BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@schemathesis.check
def schema_valid_requests_pass_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status == 404:
        return None
    body = response.json() if "json" in response.headers.get("content-type", [""])[0] else {}
    if status == 422 and body.get("kind") == "input" and body.get("error"):
        return None
    raise AssertionError(f"a schema-valid request was refused: {status} {response.text[:300]}")


def _validate(case: Any, **kwargs: Any) -> None:
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance],
        additional_checks=[schema_valid_requests_pass_validation],
        **kwargs,
    )


@open_schema.parametrize()
@BOUNDED
def test_api_conforms_to_its_openapi(case: Any) -> None:
    _validate(case)


@secured_schema.parametrize()
@BOUNDED
def test_api_with_token_conforms_to_its_openapi(case: Any) -> None:
    _validate(case, headers={"Authorization": f"Bearer {TOKEN}"})
