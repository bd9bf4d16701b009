"""Dependencies, as `Annotated` aliases, so each route says what it needs in its signature."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.service import Service
from discovery import records
from discovery.scope import Principal
from discovery.vocabulary import decision_date
from graph.errors import UsageError

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `discovery keys create`, sent as `Authorization: Bearer <key>`.",
)


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def get_session(service: ServiceDep) -> Iterator[Session]:
    with service.records.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: the proxy's)."""
    return request.client.host if request.client else "unknown"


def get_principal(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller behind the bearer key: 401 without a valid key, 429 over its rate.

    Failed authentications are counted per client address; past the allowance every
    request from that address answers 429 until it refills, so keys cannot be guessed
    at speed. The caller is kept on the request for the audit of denials.
    """
    client = client_address(request)
    locked = service.failures.wait(client)
    if locked > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "认证失败次数过多，请稍后再试 Too many failed authentications from this address; "
            "wait before trying again.",
            headers={"Retry-After": str(max(1, round(locked)))},
        )
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "需要有效的API密钥 A valid API key is required (Authorization: Bearer <key>).",
        headers={"WWW-Authenticate": "Bearer"},
    )
    request.state.key_presented = credentials is not None
    if credentials is None:
        service.failures.allow(client)
        raise unauthorized
    with service.records.session() as session:
        key = records.authenticate(session, credentials.credentials)
        if key is None:
            service.failures.allow(client)
            raise unauthorized
        principal = Principal(key.key_id, key.role, key.region_prefixes)
    request.state.principal = principal
    wait = service.limiter.allow(principal.key_id)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "请求过于频繁 Too many requests; slow down.",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles` (403 for the others)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"此操作不对{principal.role}角色开放 The {principal.role} role may not do this.",
            )
        return principal

    return check


#: ranked lists and exports
ListReader = Annotated[Principal, Depends(require("official", "analyst", "platform", "admin"))]
#: company pages and graphs
CompanyReader = Annotated[Principal, Depends(require("official", "analyst", "admin"))]
Inviter = Annotated[Principal, Depends(require("official", "admin"))]
OutcomeRecorder = Annotated[Principal, Depends(require("official", "platform", "admin"))]
InvitationReader = Annotated[
    Principal, Depends(require("official", "analyst", "platform", "admin"))
]
Uploader = Annotated[Principal, Depends(require("platform", "admin"))]
ModelOperator = Annotated[Principal, Depends(require("analyst", "admin"))]
AuditReader = Annotated[Principal, Depends(require("official", "admin"))]


class Auditor:
    """Writes audit entries for the current request and caller."""

    def __init__(self, request: Request, session: Session, principal: Principal) -> None:
        self.request = request
        self.session = session
        self.principal = principal

    def __call__(self, action: str, params: dict[str, Any], rows: int | None) -> None:
        records.write_entry(
            self.session,
            key_id=self.principal.key_id,
            role=self.principal.role,
            action=action,
            method=self.request.method,
            route=self.request.url.path,
            params={k: _plain(v) for k, v in params.items()},
            rows=rows,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def get_auditor(request: Request, session: SessionDep, principal: CurrentPrincipal) -> Auditor:
    return Auditor(request, session, principal)


AuditDep = Annotated[Auditor, Depends(get_auditor)]

AsOfQuery = Annotated[
    date | None,
    Query(description="decision date YYYY-MM-DD (default today); only facts known then are used"),
]


def resolve_as_of(as_of: date | None, where: tuple[str, ...] = ("query", "as_of")) -> date:
    """`as_of`, or today, by the one decision-date rule (a validation error at `where`)."""
    day = as_of or date.today()
    try:
        return decision_date(day, where[-1])
    except UsageError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": where, "msg": str(exc), "input": day.isoformat()}]
        ) from None
