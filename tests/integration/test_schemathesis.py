"""schemathesis against the app's own live OpenAPI document (fetched from /openapi.json): the app
in-process (open, and with a token), and a real `cartcode serve` (uvicorn on a free loopback
port). Valid and invalid requests for every operation; no 5xx, every status declared, every
response body and header matching the document, invalid input refused, auth not ignored.

One built-in check is replaced: `positive_data_acceptance` wants every schema-valid request
accepted, but a schema cannot say that no CAR-T code is valid for an autologous product on an
inpatient discharge in 2000, or that a string is not an X12 file. Our replacement is as strict
about the schema itself: a schema-valid request may be refused only as a *domain* refusal (422
with kind `input`, naming what is wrong) or a lookup miss (404), never by the server's own
schema validation (kind `schema`), which would mean the document and the server disagree.

Bounded: at most 30 examples per operation and generation mode, no deadline (2 shared cores).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cartcode.server._app import create_app
from serverproc import running_server

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
    if _headers_are_the_negative_part(case):
        _validate(case)  # the mutation is in the headers (e.g. no Authorization): adding ours would undo it
    else:
        _validate(case, headers={"Authorization": f"Bearer {TOKEN}"})


def _headers_are_the_negative_part(case: Any) -> bool:
    meta = case.meta
    if meta is None:
        return False
    return any("header" in str(getattr(loc, "value", loc)).lower() and not info.mode.is_positive
               for loc, info in meta.components.items())



@pytest.mark.parametrize("token", [None, "live-token"], ids=["open", "token"])
def test_live_server_passes_schemathesis(token: str | None, tmp_path: Path) -> None:
    """The schemathesis CLI against a real `cartcode serve`: every phase (examples, coverage,
    fuzzing, stateful), all checks but the one replaced above, 30 examples per operation."""
    cli = Path(sys.executable).with_name("schemathesis")
    with running_server(token=token, log_path=tmp_path / "server.log") as server:
        args = [str(cli), "run", f"{server.url}/openapi.json", "--checks", "all",
                "--exclude-checks", "positive_data_acceptance", "--max-examples", "30",
                "--generation-deterministic", "--no-color", "--request-timeout", "20"]
        if token:
            args += ["--header", f"Authorization: Bearer {token}"]
        # cwd: the CLI keeps a .schemathesis/ cache in its working directory
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout
    log = (tmp_path / "server.log").read_text()
    assert log.count("cartcode.access") > 100  # it did reach the server
    assert '" 500 ' not in log and "unhandled" not in log
