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
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import cartcode
from cartcode.checker._context import index_for
from cartcode.checker._engine import check, safe_fixes
from cartcode.checker._registry import RuleSpec, all_rules, get_rule
from cartcode.errors import InputError
from cartcode.findings import Fix, Report
from cartcode.formats import apply_fixes
from cartcode.kb.loader import KB, load_kb
from cartcode.kb.schema import SYSTEMS, System
from cartcode.recommender._recommend import recommend
from cartcode.server import _middleware as middleware
from cartcode.server._limits import CheckGate, LimitExceeded, WorkLimits
from cartcode.server._models import (
    CheckReport,
    CodeInfo,
    Encounter,
    Error,
    ErrorDetail,
    ErrorKind,
    Health,
    KbInfo,
    ProductNames,
    RecommendAnswer,
    RuleCatalogue,
    RuleDoc,
    error_kind,
)

DEFAULT_MAX_BODY = 5 * 1024 * 1024
DEFAULT_BODY_TIMEOUT = 30.0  # seconds to receive a whole request body (408 beyond)
DEFAULT_MAX_HEADER = 32 * 1024  # bytes of request line and headers (400 beyond)


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
    400: _err("Malformed request (bad JSON, bad Content-Length, empty body, headers over the size limit)."),
    408: _err("The request body did not arrive within the time limit (30 s by default)."),
    413: _err("Request body over the size limit (5 MB by default); for /v1/check also a claim file over the "
              "work limits (1,000 claims, 10,000 service lines, 100,000 X12 segments by default)."),
}
_V1_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("Missing or wrong bearer token (only when the server runs with a token)."),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _err("Not in the knowledge base / rule catalogue.")}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: _err("Well-formed but invalid: a field fails validation, or the input is refused.")
}
_BUSY: dict[int | str, dict[str, Any]] = {
    503: _err("Too many checks waiting, or the check did not finish within the time limit (30 s by default).")
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


def product_name_list(kb: KB) -> list[dict[str, Any]]:
    """The names of `product_names`, each with its kind (brand, generic, alias, hcpcs, id) and
    product: what the page's product picker suggests."""
    out: dict[str, dict[str, Any]] = {}
    for product in kb.products:
        hcpcs = [row.code for row in kb.product_codes(product.id, "HCPCS")]
        kinds = [(product.brand, "brand"), (product.generic, "generic"), *((a, "alias") for a in product.aliases),
                 *((h, "hcpcs") for h in hcpcs), (product.id, "id")]
        for name, kind in kinds:
            if name and name.casefold() not in out:
                out[name.casefold()] = {"name": name, "kind": kind, "product": product.id, "brand": product.brand,
                                        "generic": product.generic}
    return sorted(out.values(), key=lambda n: str(n["name"]).casefold())


_FIX_REF = re.compile(r"[0-9]{1,6}\.[0-9]{1,6}")


def chosen_fixes(report: Report, selection: Sequence[str] | None) -> dict[int, list[Fix]]:
    """The fixes to apply, by claim index: every safe fix (`selection` None or empty), or those of
    the findings named `C.F` (claim C, finding F of the report, both from 0). A named finding
    without a safe fix is refused (InputError: 422): an unsafe fix is never applied."""
    if not selection:
        return safe_fixes(report, "request")
    out: dict[int, list[Fix]] = {}
    for ref in selection:
        if not _FIX_REF.fullmatch(ref):
            raise InputError("each fix is named CLAIM.FINDING (numbers from 0, as in the check report)")
        c, f = (int(part) for part in ref.split("."))
        if c >= len(report.claims) or f >= len(report.claims[c].findings):
            raise InputError(f"the check report has no finding {c}.{f}")
        found = report.claims[c].findings[f].fix
        if found is None:
            raise InputError(f"finding {c}.{f} has no fix")
        if not found.safe:
            raise InputError(f"the fix of finding {c}.{f} is not safe: it is shown for review, never applied")
        bucket = out.setdefault(report.claims[c].source.index, [])
        if found not in bucket:
            bucket.append(found)
    return out


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
    token: str | None = None, max_body: int = DEFAULT_MAX_BODY, *, allowed_hosts: Sequence[str] | None = None,
    work_limits: WorkLimits | None = None, check_gate: CheckGate | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT, max_header: int = DEFAULT_MAX_HEADER,
) -> FastAPI:
    """The API and the page.

    `token`: when set, every /v1 route needs ``Authorization: Bearer <token>``. `max_body`: larger
    request bodies get 413. `allowed_hosts`: when set, other Host headers get 400 (`cartcode serve`
    passes :data:`LOOPBACK_HOSTS` when it binds a loopback address). `work_limits`: claim files over
    them get 413 from /v1/check; `check_gate`: how many checks run and wait at once, and for how
    long (cartcode.server._limits); `body_timeout`: seconds to receive a body (408 beyond);
    `max_header`: bytes of request line and headers (400 beyond)."""
    if max_body < 1:
        raise ValueError("max_body must be at least 1 byte")
    if body_timeout <= 0:
        raise ValueError("body_timeout must be positive")
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
    _install_routes(app, kb, work_limits or WorkLimits(), check_gate or CheckGate())
    _install_page(app)
    _install_openapi(app, kb, secured=bool(token))
    middleware.install(app, token=token, max_body=max_body, allowed_hosts=allowed_hosts, body_timeout=body_timeout,
                       max_header=max_header)
    return app


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def app_from_env() -> FastAPI:
    """The app in each of uvicorn's worker processes (`cartcode serve --workers N`): `serve` puts
    its settings in the environment, which the workers inherit."""
    logging.captureWarnings(True)  # as `serve` does in a single process (see cartcode.server._logconfig)
    hosts = os.environ.get("CARTCODE_ALLOWED_HOSTS")
    limits = WorkLimits()
    return create_app(
        token=os.environ.get("CARTCODE_TOKEN") or None,
        max_body=int(os.environ.get("CARTCODE_MAX_BODY") or DEFAULT_MAX_BODY),
        allowed_hosts=hosts.split(",") if hosts else None,
        work_limits=WorkLimits(
            max_claims=int(_env_number("CARTCODE_MAX_CLAIMS", limits.max_claims)),
            max_lines=int(_env_number("CARTCODE_MAX_LINES", limits.max_lines)),
            max_segments=int(_env_number("CARTCODE_MAX_SEGMENTS", limits.max_segments)),
        ),
        check_gate=CheckGate(
            max_concurrent=int(_env_number("CARTCODE_MAX_CONCURRENT_CHECKS", CheckGate().max_concurrent)),
            max_queued=int(_env_number("CARTCODE_MAX_QUEUED_CHECKS", CheckGate().max_queued)),
            timeout=_env_number("CARTCODE_CHECK_TIMEOUT", CheckGate().timeout),
        ),
        body_timeout=_env_number("CARTCODE_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT),
        max_header=int(_env_number("CARTCODE_MAX_HEADER", DEFAULT_MAX_HEADER)),
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

    @app.exception_handler(LimitExceeded)
    async def on_limit(_request: Request, exc: LimitExceeded) -> JSONResponse:
        response = _error(exc.status, exc.message)
        if exc.status == 503:
            response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(InputError)
    async def on_input_error(_request: Request, exc: InputError) -> JSONResponse:
        return _error(422, str(exc), kind="input")


def _without_request_values(exc: InputError, mapping: dict[str, Any]) -> InputError:
    """`exc` with every free-text value of the request taken out of its message (an unknown
    product's name is quoted by recommend; an error answer never echoes what was sent). The
    close matches it suggests are the KB's own names and stay."""
    text = str(exc)
    for value in mapping.values():
        if isinstance(value, str) and value:
            for form in {value, value.strip(), value.strip().casefold()}:
                if form:
                    text = text.replace(repr(form), "(the value sent)")
    return InputError(text)


def _install_routes(app: FastAPI, kb: KB, work_limits: WorkLimits, gate: CheckGate) -> None:
    @app.post(
        "/v1/recommend", tags=["recommend"], summary="The codes for a CAR-T encounter",
        responses={200: {"model": RecommendAnswer, "description": "The contract's recommend answer."},
                   **_V1_ERRORS, **_INVALID},
        response_class=JSONResponse,
    )
    async def post_recommend(encounter: Encounter) -> JSONResponse:
        mapping = encounter.to_mapping()
        try:
            answer = recommend(mapping, kb=kb)
        except InputError as exc:
            raise _without_request_values(exc, mapping) from None
        return JSONResponse(answer.to_json())

    @app.post(
        "/v1/check", tags=["check"], summary="Check one claim file (X12, FHIR or cartcode JSON)",
        responses={200: {"model": CheckReport, "description": "The contract's check answer (every claim once, "
                         "in input order; unreadable claims have status `failed`)."},
                   **_V1_ERRORS, **_INVALID, **_BUSY},
        openapi_extra={"requestBody": _CHECK_BODY},
        response_class=JSONResponse,
    )
    async def post_check(
        request: Request,
        grouping: bool = Query(
            default=True,
            description="MS-DRG grouping and Medicare Code Editor edits on inpatient claims; false turns them off.",
        ),
    ) -> JSONResponse:
        data = await request.body()
        if not data.strip():
            raise ApiError(400, "empty body: send one claim file (X12, FHIR JSON or cartcode JSON)")
        # Off the event loop, in a bounded pool with a time limit, so /healthz and small calls still
        # answer; the work limits are counted from the bytes first (413 before any claim is built).
        def work() -> dict[str, Any]:
            work_limits.enforce(data)
            return check(data, filename="request", kb=kb, grouping=grouping).to_json()

        return JSONResponse(await gate.run(work))

    @app.post(
        "/v1/fix", tags=["check"], summary="The claim file with its safe fixes applied (as `check --fix`)",
        responses={200: {"description": "The corrected claim file: byte-identical outside the fixed segments "
                         "(X12) or values (JSON, FHIR). Header X-Cartcode-Fixes-Applied counts the fixes applied.",
                         "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                              "format": "binary"}}}},
                   **_V1_ERRORS, **_INVALID, **_BUSY},
        openapi_extra={"requestBody": _CHECK_BODY},
        response_class=Response,
    )
    async def post_fix(
        request: Request,
        fix: list[str] | None = Query(
            default=None,
            description="The findings whose fixes to apply, as CLAIM.FINDING (numbers from 0, as in /v1/check's "
            "report of the same file); absent: every safe fix. A finding whose fix is not safe is refused (422).",
        ),
        grouping: bool = Query(default=True, description="As /v1/check: the report the findings are numbered in."),
    ) -> Response:
        data = await request.body()
        if not data.strip():
            raise ApiError(400, "empty body: send one claim file (X12, FHIR JSON or cartcode JSON)")

        def work() -> tuple[bytes, int]:
            work_limits.enforce(data)
            report = check(data, filename="request", kb=kb, grouping=grouping)
            fixes = chosen_fixes(report, fix)
            if not fixes:
                return data, 0
            return apply_fixes(data, "request", fixes), sum(len(v) for v in fixes.values())

        fixed, applied = await gate.run(work)
        return Response(fixed, media_type="application/octet-stream",
                        headers={"X-Cartcode-Fixes-Applied": str(applied)})

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

    names_json = {"kb": kb.stamp(), "names": product_name_list(kb)}

    @app.get("/v1/products", tags=["kb"], summary="Every product name recommend takes (brand, generic, "
             "alias, HCPCS code)",
             responses={200: {"model": ProductNames, "description": "The names, sorted, each with its product."},
                        **_V1_ERRORS},
             response_class=JSONResponse)
    async def get_products() -> JSONResponse:
        return JSONResponse(names_json)

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
