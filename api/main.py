"""The HTTP service: `create_app()` builds the FastAPI application (run it with `discovery serve`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from api.config import service_settings
from api.denials import audit_denials
from api.errors import RETRY_AFTER, UNAVAILABLE_HEADERS, use_validation_schema, validation_failed
from api.routes import audit, companies, data, exports, health, invitations, me, registry
from api.schemas import ErrorPublic
from api.service import Service
from api.uploads import BadUpload, UploadTooLarge
from discovery.records import IdempotencyConflict, InvitationNotFound, OutcomeConflict
from discovery.registry import PromotionRefused, SchemaMismatchError
from discovery.training import NotEnoughEvidence
from graph.errors import ContractError, DiscoveryError, StoreError, UsageError
from graph.settings import Settings

STATIC = Path(__file__).parent / "static"
DOCS = ("/docs", "/redoc")
DESCRIPTION = """
主动发现服务 — ranked invitation lists of companies likely to qualify as
专精特新中小企业 (`specialized_sme`) or 专精特新"小巨人" (`little_giant`), with the
evidence and the official thresholds behind each, and the record of invitations
and their outcomes.

**Access.** Every `/v1` route needs an API key (`discovery keys create`), sent as
`Authorization: Bearer <key>`. Roles: *official* (bound to region-code prefixes;
lists, companies, graphs and exports of those regions, invitations and outcomes
there), *analyst* (read all, train, promote), *platform* (lists and exports,
upload data, record outcomes), *admin* (everything). A company outside an
official's regions answers 404 exactly like one that does not exist.

**Errors** are `{"detail": "..."}` with one plain sentence: 400 a request the
service cannot carry out (e.g. data breaking the contract, too little evidence
to train), 401 no or bad key, 403 role not allowed, 404 unknown (or outside your
regions), 409 conflict, 413 upload too large, 422 a parameter or field that is
wrong (`detail` names it in one sentence; `errors` lists every error for programs),
429 over the request rate and 503 a store, disk or records database the service
cannot use (both with `Retry-After`, in seconds).
"""
TAGS = [
    {"name": "invitations 邀请", "description": "ranked lists, invitations and outcomes"},
    {"name": "companies 企业", "description": "a company's assessment, evidence and graph"},
    {"name": "exports 导出", "description": "the ranked list as Excel or CSV"},
    {"name": "data 数据", "description": "upload data in the input contract"},
    {"name": "models 模型", "description": "train, list and promote models"},
    {"name": "audit 审计", "description": "who did what"},
    {"name": "access 访问", "description": "the calling key"},
    {"name": "health 运行状态", "description": "probes"},
]
log = logging.getLogger(__name__)
#: our errors and the status each answers with (most specific first)
ERROR_STATUS: list[tuple[type[Exception], int]] = [
    (InvitationNotFound, 404),
    (OutcomeConflict, 409),
    (IdempotencyConflict, 409),
    (PromotionRefused, 409),
    (SchemaMismatchError, 409),
    (UploadTooLarge, 413),
    (BadUpload, 400),
    (NotEnoughEvidence, 400),
    (ContractError, 400),
    (UsageError, 400),
    (StoreError, 503),
    (DiscoveryError, 400),
]
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # the page loads nothing from elsewhere: closed networks, and no injected scripts
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'"
    ),
}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "the request cannot be carried out"},
    401: {
        "model": ErrorPublic,
        "description": "no API key, or not a valid one",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    },
    403: {"model": ErrorPublic, "description": "the key's role may not do this"},
    429: {
        "model": ErrorPublic,
        "description": "over the request rate, or too many failed keys from this address",
        "headers": RETRY_AFTER,
    },
    503: {
        "model": ErrorPublic,
        "description": "the store, state directory or records database cannot be used",
        "headers": RETRY_AFTER,
    },
}


def operation_id(route: APIRoute) -> str:
    """A readable operation id for a route that names none: its function name in camelCase."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _error_handler(code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    headers = UNAVAILABLE_HEADERS if code == 503 else None

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)

    return handle


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """A disk or database the service cannot use: one sentence, never a traceback or a path."""
    log.error("service state unusable: %s", exc)
    return JSONResponse(
        {
            "detail": "服务暂不可用：状态目录或记录库无法读写，请联系运维 The service cannot use "
            "its state directory or records database (see /readyz); ask its operator."
        },
        status_code=503,
        headers=UNAVAILABLE_HEADERS,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application over the store, registry and records database the settings name."""
    service = Service.start(service_settings(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="专精特新主动发现服务 SME discovery service",
        version="1",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.service = service
    app.add_exception_handler(RequestValidationError, validation_failed)
    use_validation_schema(app)
    for error, code in ERROR_STATUS:
        app.add_exception_handler(error, _error_handler(code))
    for failure in (OSError, SQLAlchemyError):
        app.add_exception_handler(failure, _unavailable)

    app.middleware("http")(audit_denials)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            # /docs fetches Swagger UI from a CDN; the page and the API never load anything
            if name != "Content-Security-Policy" or not request.url.path.startswith(DOCS):
                response.headers.setdefault(name, value)
        return response

    v1 = APIRouter(prefix="/v1", responses=COMMON_ERRORS)
    for module in (me, invitations, companies, exports, data, registry, audit):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    return app
