"""The audit log: admins read every entry, officials their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.denials import PATH_PARAM
from api.deps import AuditReader, SessionDep
from api.schemas import AuditEntryPublic, AuditPublic
from discovery import records

router = APIRouter(prefix="/audit", tags=["audit 审计"])


@router.get("", response_model=AuditPublic, operation_id="listAuditEntries")
def audit_log(
    principal: AuditReader,
    session: SessionDep,
    action: Annotated[str | None, Query(pattern="^(" + "|".join(records.ACTIONS) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> AuditPublic:
    """Audit entries, newest first: who did what, when, with how many rows (审计日志)."""
    key_id = principal.key_id if principal.is_official else None
    rows, total = records.list_entries(
        session, key_id=key_id, action=action, limit=limit, offset=offset
    )
    data = [AuditEntryPublic.model_validate(r) for r in rows]
    if principal.is_official:
        # a refused path may name a company outside the official's regions
        for entry in data:
            entry.params.pop(PATH_PARAM, None)
    return AuditPublic(data=data, count=total)
