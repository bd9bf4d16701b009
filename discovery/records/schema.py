"""The tables of the transactional store: API keys, invitations, the audit log, idempotent uploads.

Plain SQLAlchemy 2 declarative models; the same schema runs on SQLite (the default,
`$DISCOVERY_HOME/records.db`) and PostgreSQL (`DISCOVERY_DATABASE_URL`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key, stored as a salted digest; the secret itself is shown once and never kept."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    salt: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    #: comma-separated region-code prefixes (officials only)
    regions: Mapped[str] = mapped_column(String(1000), default="")
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @property
    def region_prefixes(self) -> tuple[str, ...]:
        return tuple(p for p in self.regions.split(",") if p)


class Invitation(Base):
    """One company invited to apply for one tier, and what came of it (the contract's `invitations`)."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_uscc_tier", "uscc", "tier"),)

    invitation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    tier: Mapped[str] = mapped_column(String(24))
    #: the company's region when invited, so scoping needs no store read
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    invited_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(12), default="pending")
    outcome_on: Mapped[date | None] = mapped_column(Date, default=None)
    invited_by: Mapped[str] = mapped_column(String(16))
    outcome_by: Mapped[str | None] = mapped_column(String(16), default=None)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    model_id: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who did what, when, and how many rows it touched."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), index=True)
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rows: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[int] = mapped_column(Integer, default=200)


class IdempotentRequest(Base):
    """The result of a request sent with an `Idempotency-Key`, replayed when the key comes again."""

    __tablename__ = "idempotent_requests"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer, default=200)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


__all__ = ["ApiKey", "AuditEntry", "Base", "IdempotentRequest", "Invitation", "utcnow"]
