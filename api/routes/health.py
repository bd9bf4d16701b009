"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServiceDep
from api.errors import RETRY_AFTER, UNAVAILABLE_HEADERS
from api.schemas import HealthPublic

router = APIRouter(tags=["health 运行状态"])


@router.get("/healthz", response_model=HealthPublic, operation_id="checkLiveness")
def healthz() -> HealthPublic:
    """The process answers."""
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    response_model=HealthPublic,
    operation_id="checkReadiness",
    responses={503: {"model": HealthPublic, "headers": RETRY_AFTER}},
)
def readyz(service: ServiceDep) -> HealthPublic | JSONResponse:
    """The store is readable, the records database answers, the state directory takes writes."""
    checks: dict[str, str] = {}
    try:
        probe_writes(service.settings.home)
        checks["home"] = "ok"
    except OSError as exc:  # a read-only or full state directory: audit and uploads fail
        checks["home"] = type(exc).__name__
    try:
        service.workspace.store.counts()
        checks["store"] = "ok"
    except Exception as exc:  # any failure means not ready; say which kind
        checks["store"] = type(exc).__name__
    try:
        service.records.ping()
        checks["records"] = "ok"
    except Exception as exc:
        checks["records"] = type(exc).__name__
    ready = all(v == "ok" for v in checks.values())
    body = HealthPublic(status="ok" if ready else "unavailable", checks=checks)
    if ready:
        return body
    return JSONResponse(body.model_dump(), status_code=503, headers=UNAVAILABLE_HEADERS)


def probe_writes(home: Path) -> None:
    """Write and remove a small file in the state directory (raises `OSError` when it cannot)."""
    probe = Path(home) / f".ready-{os.getpid()}"
    try:
        probe.write_bytes(b"ok")
    finally:
        probe.unlink(missing_ok=True)
