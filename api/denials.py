"""The audit of refusals: every 401, 403 and 404 an API route answers is written down.

Successes are audited by the routes themselves (`deps.Auditor`); refusals are
written here, once, whatever raised them. An entry names the key when the caller
was identified (403, and 404 for a company outside the caller's regions or an
unknown record), else the caller is `anonymous`; the client's address, the status,
whether a key was presented and the path as sent go into its parameters, never the
key itself. The route is written as its template (`/v1/companies/{uscc}`): a code
outside an official's regions must not come back to them through their own log, so
only admins are shown the path as sent (`routes/audit.py`).
Failed keys are rate-limited per address (`deps.get_principal`), which bounds how
fast anonymous entries can be written.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.deps import client_address
from discovery import records
from discovery.scope import Principal

DENIED = frozenset({401, 403, 404})
ANONYMOUS = "anonymous"
#: the parameter holding the path as sent; `route` holds the route's template
PATH_PARAM = "path"
log = logging.getLogger(__name__)


async def audit_denials(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware: write one `denied` audit entry for each refused API call."""
    response = await call_next(request)
    if response.status_code in DENIED and request.url.path.startswith("/v1/"):
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is not None or response.status_code == 401:
            await run_in_threadpool(_write, request, response.status_code, principal)
    return response


def _write(request: Request, code: int, principal: Principal | None) -> None:
    service = request.app.state.service
    template = request.url.path
    for name, value in request.path_params.items():
        template = template.replace(f"/{value}", f"/{{{name}}}")
    params = {
        "client": client_address(request),
        "key_presented": bool(getattr(request.state, "key_presented", False)),
        # the path as sent may hold a code the caller may not see: admins only
        PATH_PARAM: request.url.path[:500],
    }
    try:
        with service.records.session() as session:
            records.write_entry(
                session,
                key_id=principal.key_id if principal else ANONYMOUS,
                role=principal.role if principal else ANONYMOUS,
                action="denied",
                method=request.method,
                route=template[:200],
                params=params,
                rows=None,
                status=code,
            )
    except SQLAlchemyError as exc:  # the refusal stands even if it cannot be written down
        log.error("could not audit a refused call: %s", exc)
