"""The audit log: every list pull, export, invitation, outcome, upload, training and
promotion, and every refused call (401, 403, 404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from discovery.records.schema import AuditEntry

ACTIONS: tuple[str, ...] = (
    "list",
    "export",
    "company",
    "graph",
    "invite",
    "outcome",
    "upload",
    "train",
    "promote",
    "denied",
)


def write_entry(
    session: Session,
    *,
    key_id: str,
    role: str,
    action: str,
    method: str,
    route: str,
    params: dict[str, Any],
    rows: int | None,
    status: int = 200,
) -> AuditEntry:
    """Append one entry and commit it."""
    entry = AuditEntry(
        key_id=key_id,
        role=role,
        action=action,
        method=method,
        route=route,
        params={k: v for k, v in params.items() if v is not None},
        rows=rows,
        status=status,
    )
    session.add(entry)
    session.commit()
    return entry


def list_entries(
    session: Session,
    *,
    key_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Entries newest first (only `key_id`'s when given), and how many match."""
    query = select(AuditEntry)
    if key_id is not None:
        query = query.where(AuditEntry.key_id == key_id)
    if action:
        query = query.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)
