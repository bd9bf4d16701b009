"""Requests made harmless to repeat: a result kept per (API key, `Idempotency-Key`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from discovery.records.schema import IdempotentRequest
from graph.errors import DiscoveryError


class IdempotencyConflict(DiscoveryError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for new content."
        )


def replay(
    session: Session, key_id: str, idempotency_key: str, digest: str
) -> IdempotentRequest | None:
    """The stored result for this key, None when new; a different request under it is refused."""
    row = session.get(IdempotentRequest, (key_id, idempotency_key))
    if row is None:
        return None
    if row.request_digest != digest:
        raise IdempotencyConflict()
    return row


def remember(
    session: Session,
    key_id: str,
    idempotency_key: str,
    digest: str,
    result: dict[str, Any],
    status: int = 200,
) -> None:
    """Keep the result; a concurrent twin that stored first wins."""
    session.add(
        IdempotentRequest(
            key_id=key_id,
            idempotency_key=idempotency_key,
            request_digest=digest,
            result=result,
            status=status,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
