"""`cartcode serve`: the REST API (OpenAPI 3.1 at /openapi.json) and the coders' web page at `/`.

A thin layer over :func:`cartcode.recommender._recommend.recommend`, :func:`cartcode.checker._engine.check`, the rule
catalogue and the KB; recommend and check answer exactly what the CLI prints with `--format json`
(CONTRACT.md).

Safe by default (see :mod:`cartcode.server._middleware`): the CLI binds 127.0.0.1; with a token,
every /v1 route needs it; bodies over `max_body` get 413; request bodies are validated strictly
(no coercion of booleans, numbers or dates); error answers never echo request values; no log
line carries claim content; nothing here opens an outbound connection.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import cartcode
from cartcode.checker._context import index_for
from cartcode.checker._engine import check
from cartcode.checker._registry import RuleSpec, all_rules, get_rule
from cartcode.errors import InputError
from cartcode.kb.loader import KB, load_kb
from cartcode.kb.schema import SYSTEMS, System
from cartcode.recommender._recommend import recommend
from cartcode.server import _middleware as middleware
from cartcode.server._models import (
    CheckReport,
    CodeInfo,
    Encounter,
    Error,
    ErrorDetail,
    ErrorKind,
    Health,
    KbInfo,
    RecommendAnswer,
    RuleCatalogue,
    RuleDoc,
    error_kind,
)

DEFAULT_MAX_BODY = 5 * 1024 * 1024


class ApiError(Exception):
    """An error answer (Error) with a status the OpenAPI document declares."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(
    status: int, message: str, details: list[ErrorDetail] | None = None, kind: ErrorKind | None = None
) -> JSONResponse:
    body = Error(status=status, kind=kind or error_kind(status), error=message, details=details or [])
    headers = {"WWW-Authenticate": 'Bearer realm="cartcode"'} if status == 401 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _err(description: str) -> dict[str, Any]:
    return {"model": Error, "description": description}


# Declared on every operation: the middleware can answer any request with these.
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _err("Malformed request (bad JSON, bad Content-Length, empty body)."),
    413: _err("Request body over the size limit (5 MB by default)."),
}
_V1_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("Missing or wrong bearer token (only when the server runs with a token)."),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _err("Not in the knowledge base / rule catalogue.")}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: _err("Well-formed but invalid: a field fails validation, or the input is refused.")
}

_CHECK_BODY: dict[str, Any] = {
    "required": True,
    "description": "One claim file: X12 837I/837P text (starts with ISA), FHIR JSON (has resourceType) "
    "or cartcode JSON. The format is read from the content, not the media type (any media type is taken, "
    "e.g. application/edi-x12 too).",
    "content": {
        "application/json": {"schema": {"type": ["object", "array"]}},
        "application/fhir+json": {"schema": {"type": ["object", "array"]}},
        "text/plain": {"schema": {"type": "string", "minLength": 1}},
    },
}


# --------------------------------------------------------------------------------- serialisers
def _source_json(kb: KB, source_id: str) -> dict[str, Any]:
    return kb.source(source_id).model_dump(mode="json", exclude_none=True)


def _code_json(kb: KB, code: str, system: str | None) -> dict[str, Any] | None:
    """What the KB holds for a code string in every system that uses it (or one system)."""
    systems = [system] if system else list(SYSTEMS)
    rows: list[dict[str, Any]] = []
    cited: set[str] = set()
    for sys_name in systems:
        for row in kb.code_rows(sys_name, code):
            rows.append(row.model_dump(mode="json"))
            cited.update(row.sources)
            for status in row.statuses:
                cited.update(status.sources)
    if not rows:
        return None
    return {
        "code": rows[0]["code"],
        "kb": kb.stamp(),
        "rows": rows,
        "sources": {sid: _source_json(kb, sid) for sid in sorted(cited) if sid in kb.sources},
    }


def product_names(kb: KB) -> list[str]:
    """Every name `recommend` resolves to a product (KB.product): ids, generic and brand names,
    aliases and the products' own HCPCS codes."""
    names: dict[str, str] = {}  # casefolded -> as written (first seen)
    for product in kb.products:
        hcpcs = [row.code for row in kb.product_codes(product.id, "HCPCS")]
        for name in (product.brand, product.generic, *product.aliases, *hcpcs, product.id):
            if name:
                names.setdefault(name.casefold(), name)
    return sorted(names.values(), key=str.casefold)


def _product_pattern(kb: KB) -> str:
    """A JSON Schema (ECMA-262) pattern for the product names, any case, surrounding blanks allowed:
    the document then says exactly which products the KB knows (no inline (?i) flag in ECMA-262)."""

    def any_case(name: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)

    return r"^\s*(?:" + "|".join(any_case(n) for n in product_names(kb)) + r")\s*$"


@functools.cache
def _rule_examples(path: Path) -> list[dict[str, Any]]:
    """A rule's good and bad cases (its YAML beside the rule), as JSON: they are its examples."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list):
        return []
    # YAML dates become ISO strings, as in the claim JSON they stand for.
    out: list[dict[str, Any]] = json.loads(json.dumps(cases, default=str))
    return out


def _rule_json(spec: RuleSpec, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": spec.id,
        "name": spec.name,
        "severity": str(spec.severity),
        "family": spec.family,
        "settings": sorted(spec.settings),
        "sources": list(spec.sources),
        "summary": spec.summary,
    }
    if full:
        out["doc"] = spec.doc
        out["sections"] = spec.sections()
        out["examples"] = _rule_examples(spec.cases_path)
    return out


# ------------------------------------------------------------------------------------- the app
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def create_app(
    token: str | None = None, max_body: int = DEFAULT_MAX_BODY, *, allowed_hosts: Sequence[str] | None = None
) -> FastAPI:
    """The API and the page.

    `token`: when set, every /v1 route needs ``Authorization: Bearer <token>``. `max_body`: larger
    request bodies get 413. `allowed_hosts`: when set, other Host headers get 400 (`cartcode serve`
    passes :data:`LOOPBACK_HOSTS` when it binds a loopback address)."""
    if max_body < 1:
        raise ValueError("max_body must be at least 1 byte")
    kb = load_kb()
    # Import every rule and build the rules' KB index now, once, on this thread: not inside the
    # first request, and not twice by two check requests racing in the thread pool.
    all_rules()
    index_for(kb)
    app = FastAPI(
        title="cartcode",
        version=cartcode.__version__,
        summary="Code and check CAR-T cell therapy claims.",
        description="Recommend the codes for a CAR-T encounter and check claims (X12 837I/837P, FHIR, "
        "cartcode JSON) against a cited, effective-dated knowledge base. Answers follow CONTRACT.md.",
        # Swagger UI and ReDoc load scripts from a CDN: no outbound requests from our pages.
        docs_url=None,
        redoc_url=None,
        responses=_COMMON_ERRORS,
    )
    _install_error_handlers(app)
    _install_routes(app, kb)
    _install_page(app)
    _install_openapi(app, kb, secured=bool(token))
    middleware.install(app, token=token, max_body=max_body, allowed_hosts=allowed_hosts)
    return app


def app_from_env() -> FastAPI:
    """The app in each of uvicorn's worker processes (`cartcode serve --workers N`): `serve` puts
    its settings in the environment, which the workers inherit."""
    logging.captureWarnings(True)  # as `serve` does in a single process (see cartcode.server._logconfig)
    hosts = os.environ.get("CARTCODE_ALLOWED_HOSTS")
    return create_app(
        token=os.environ.get("CARTCODE_TOKEN") or None,
        max_body=int(os.environ.get("CARTCODE_MAX_BODY") or DEFAULT_MAX_BODY),
        allowed_hosts=hosts.split(",") if hosts else None,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        details = [
            ErrorDetail(loc=[p for p in e.get("loc", ()) if isinstance(p, str | int)], msg=str(e.get("msg", "")),
                        type=str(e.get("type", "")))
            for e in errors
        ]  # no `input`: it would echo the request back
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "the body is not valid JSON", details)
        return _error(422, "the request does not match the schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        response = _error(exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(InputError)
    async def on_input_error(_request: Request, exc: InputError) -> JSONResponse:
        return _error(422, str(exc), kind="input")


def _install_routes(app: FastAPI, kb: KB) -> None:
    @app.post(
        "/v1/recommend", tags=["recommend"], summary="The codes for a CAR-T encounter",
        responses={200: {"model": RecommendAnswer, "description": "The contract's recommend answer."},
                   **_V1_ERRORS, **_INVALID},
        response_class=JSONResponse,
    )
    async def post_recommend(encounter: Encounter) -> JSONResponse:
        answer = recommend(encounter.to_mapping(), kb=kb)
        return JSONResponse(answer.to_json())

    @app.post(
        "/v1/check", tags=["check"], summary="Check one claim file (X12, FHIR or cartcode JSON)",
        responses={200: {"model": CheckReport, "description": "The contract's check answer (every claim once, "
                         "in input order; unreadable claims have status `failed`)."},
                   **_V1_ERRORS, **_INVALID},
        openapi_extra={"requestBody": _CHECK_BODY},
        response_class=JSONResponse,
    )
    async def post_check(request: Request) -> JSONResponse:
        data = await request.body()
        if not data.strip():
            raise ApiError(400, "empty body: send one claim file (X12, FHIR JSON or cartcode JSON)")
        # A large X12 file takes a while: off the event loop, so /healthz and small calls still answer.
        report = await run_in_threadpool(check, data, filename="request", kb=kb)
        return JSONResponse(report.to_json())

    @app.get("/v1/rules", tags=["rules"], summary="The rule catalogue",
             responses={200: {"model": RuleCatalogue, "description": "Every rule, sorted by id."}, **_V1_ERRORS},
             response_class=JSONResponse)
    async def get_rules() -> JSONResponse:
        return JSONResponse({"kb": kb.stamp(), "rules": [_rule_json(r, full=False) for r in all_rules()]})

    @app.get("/v1/rules/{rule_id}", tags=["rules"], summary="One rule's documentation (by id or name)",
             responses={200: {"model": RuleDoc, "description": "The rule and its documentation."},
                        **_V1_ERRORS, **_NOT_FOUND, **_INVALID},
             response_class=JSONResponse)
    async def get_rule_doc(rule_id: str) -> JSONResponse:
        spec = get_rule(rule_id)
        if spec is None:
            raise ApiError(404, "no such rule")
        return JSONResponse(_rule_json(spec, full=True))

    @app.get("/v1/codes/{code}", tags=["kb"], summary="What the KB knows about a code",
             responses={200: {"model": CodeInfo, "description": "Every period of the code, with its sources."},
                        **_V1_ERRORS, **_NOT_FOUND, **_INVALID},
             response_class=JSONResponse)
    async def get_code(
        code: str,
        system: System | None = Query(default=None, description="Only this code system."),
    ) -> JSONResponse:
        found = _code_json(kb, code, system)
        if found is None:
            raise ApiError(404, "the knowledge base does not hold this code")
        return JSONResponse(found)

    kb_json = {
        **kb.stamp(),
        "title": kb.manifest.title,
        "sources": [s.model_dump(mode="json", exclude_none=True) for s in kb.sources.values()],
        "products": [p.model_dump(mode="json", exclude_none=True) for p in kb.products],
    }

    @app.get("/v1/kb", tags=["kb"], summary="The KB edition, as-of date, sources and products",
             responses={200: {"model": KbInfo, "description": "The bundled knowledge base."}, **_V1_ERRORS},
             response_class=JSONResponse)
    async def get_kb() -> JSONResponse:
        return JSONResponse(kb_json)

    @app.get("/healthz", tags=["ops"], summary="Liveness (no token needed)",
             responses={200: {"model": Health, "description": "The server is up."}},
             response_class=JSONResponse)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "kb": kb.stamp()})


def static_dir() -> Path:
    return Path(str(resources.files("cartcode.server") / "static"))


def _install_page(app: FastAPI) -> None:
    directory = static_dir()
    index = (directory / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(index)

    app.mount("/static", StaticFiles(directory=directory), name="static")


def _install_openapi(app: FastAPI, kb: KB, *, secured: bool) -> None:
    """OpenAPI 3.1: the KB's product names in the encounter schema, and the bearer scheme on /v1
    when a token is set."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, openapi_version=app.openapi_version, summary=app.summary,
            description=app.description, routes=app.routes,
        )
        product = schema["components"]["schemas"]["Encounter"]["properties"]["product"]
        product["pattern"] = _product_pattern(kb)
        product["examples"] = ["Breyanzi", "lisocabtagene maraleucel", "Q2054", "autologous"]
        if secured:
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The server's --token."}
            }
            for path, operations in schema["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
