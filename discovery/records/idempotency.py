"""Requests made harmless to repeat: a result kept per (API key, `Idempotency-Key`).

A request claims its key before doing anything (`claim`): one row under the table's
primary key, marked in progress (`status` `IN_PROGRESS`), so of two requests racing
with one key exactly one goes ahead. It then either keeps its result (`complete`),
replayed to every later request with the same content, or gives the key back
(`release`) when it failed. A claim left by a process that died is taken over after
`CLAIM_EXPIRES`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from discovery.records.schema import IdempotentRequest, utcnow
from graph.errors import DiscoveryError

#: `status` of a claimed key whose request is still running
IN_PROGRESS = 0
#: a claim this old belongs to a request that will never finish
CLAIM_EXPIRES = timedelta(hours=1)


class IdempotencyConflict(DiscoveryError):
    def __init__(self) -> None:
        super().__init__(
            "此Idempotency-Key已用于其他内容 This Idempotency-Key was already used for a "
            "different request; use a new key for new content."
        )


class IdempotencyInProgress(IdempotencyConflict):
    def __init__(self) -> None:
        DiscoveryError.__init__(
            self,
            "使用此Idempotency-Key的请求仍在处理中 A request with this Idempotency-Key is "
            "still being processed; retry it later to get its result.",
        )


def replay(
    session: Session, key_id: str, idempotency_key: str, digest: str
) -> IdempotentRequest | None:
    """The stored result for this key, None when new; a different request under it is refused."""
    row = session.get(IdempotentRequest, (key_id, idempotency_key), populate_existing=True)
    if row is None:
        return None
    if row.request_digest != digest:
        raise IdempotencyConflict()
    if row.status == IN_PROGRESS:
        raise IdempotencyInProgress()
    return row


def claim(
    session: Session, key_id: str, idempotency_key: str, digest: str
) -> IdempotentRequest | None:
    """Claim the key for this request: None when claimed, else the earlier result to replay.

    Raises `IdempotencyConflict` for other content under the key and
    `IdempotencyInProgress` while another request holding it runs.
    """
    session.add(
        IdempotentRequest(
            key_id=key_id,
            idempotency_key=idempotency_key,
            request_digest=digest,
            result={},
            status=IN_PROGRESS,
        )
    )
    try:
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    if _take_over_expired(session, key_id, idempotency_key, digest):
        return None
    return replay(session, key_id, idempotency_key, digest)


def _take_over_expired(session: Session, key_id: str, idempotency_key: str, digest: str) -> bool:
    taken = session.execute(
        update(IdempotentRequest)
        .where(
            IdempotentRequest.key_id == key_id,
            IdempotentRequest.idempotency_key == idempotency_key,
            IdempotentRequest.status == IN_PROGRESS,
            IdempotentRequest.created_at < utcnow() - CLAIM_EXPIRES,
        )
        .values(request_digest=digest, created_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(taken, "rowcount", 0))


def complete(
    session: Session, key_id: str, idempotency_key: str, result: dict[str, Any], status: int = 200
) -> None:
    """Keep the result of the request that claimed the key."""
    session.execute(
        update(IdempotentRequest)
        .where(
            IdempotentRequest.key_id == key_id,
            IdempotentRequest.idempotency_key == idempotency_key,
        )
        .values(result=result, status=status)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def release(session: Session, key_id: str, idempotency_key: str) -> None:
    """Give the key back after a failed request, so it may be sent again."""
    session.rollback()
    session.execute(
        delete(IdempotentRequest)
        .where(
            IdempotentRequest.key_id == key_id,
            IdempotentRequest.idempotency_key == idempotency_key,
            IdempotentRequest.status == IN_PROGRESS,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
