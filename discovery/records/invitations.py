"""Invitations and their outcomes; recorded outcomes become training labels.

`outcomes_frame` returns them in the contract's `invitations` table format, and
`load_into_store` upserts that table into a store, where `discovery.labels` reads
it (approved / rejected outcomes are direct evidence) on the next training run.

An invitation belongs to the region its company is in now: the stored
`region_code` is the company's region when invited, and `refresh_regions` moves
it when the store says the company has moved (the service calls it before any
scope check), so the new region's officials see it and the old region's do not.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import cast

import pandas as pd
from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from discovery.records.schema import Invitation
from graph.contract import TABLES
from graph.errors import DiscoveryError, UsageError
from graph.settings import Settings
from graph.store import LoadResult, Store
from graph.validation import Batch, TableBatch, conform

OUTCOMES: tuple[str, ...] = ("declined", "applied", "approved", "rejected")
OPEN = ("pending", "applied")
#: the outcomes that may follow each state (a decision is final)
NEXT: dict[str, tuple[str, ...]] = {
    "pending": OUTCOMES,
    "applied": ("approved", "rejected"),
}
CONTRACT_COLUMNS = ["invitation_id", "uscc", "tier", "invited_on", "outcome", "outcome_on"]


class InvitationNotFound(DiscoveryError):
    def __init__(self) -> None:
        super().__init__("没有这条邀请记录 No such invitation.")


class OutcomeConflict(DiscoveryError):
    def __init__(self, current: str, wanted: str) -> None:
        allowed = ", ".join(NEXT.get(current, ())) or "nothing (the outcome is final)"
        super().__init__(
            f"The invitation is '{current}'; it cannot become '{wanted}'. Allowed next: {allowed}."
        )


def new_invitation_id(invited_on: date) -> str:
    return f"INV-{invited_on:%Y%m%d}-{secrets.token_hex(5)}"


def invite(
    session: Session,
    companies: Sequence[tuple[str, str]],
    tier: str,
    invited_on: date,
    invited_by: str,
    scores: dict[str, tuple[float, str]] | None = None,
) -> list[Invitation]:
    """Record invitations for (uscc, region_code) pairs; an open invitation is reused, not doubled."""
    scores = scores or {}
    out: list[Invitation] = []
    for uscc, region_code in companies:
        existing = session.scalars(
            select(Invitation).where(
                Invitation.uscc == uscc,
                Invitation.tier == tier,
                Invitation.outcome.in_(OPEN),
            )
        ).first()
        if existing is not None:
            existing.region_code = region_code  # the company's region now
            out.append(existing)
            continue
        score, model_id = scores.get(uscc, (None, None))
        row = Invitation(
            invitation_id=new_invitation_id(invited_on),
            uscc=uscc,
            tier=tier,
            region_code=region_code,
            invited_on=invited_on,
            invited_by=invited_by,
            score=score,
            model_id=model_id,
        )
        session.add(row)
        out.append(row)
    session.commit()
    return out


def refresh_regions(session: Session, region_of: pd.Series | Mapping[str, str]) -> int:
    """Move every invitation to the region its company is in now; returns how many
    (company, old region) pairs moved.

    `region_of` maps credit codes to their current region (the store's companies'
    `region_code` indexed by `uscc`); a company the store does not know keeps the
    region it was invited in. One read and one batched update, whatever the count.
    """
    pairs = pd.DataFrame(
        session.execute(select(Invitation.uscc, Invitation.region_code).distinct()).all(),
        columns=["uscc", "stored"],
        dtype="object",
    )
    current = region_of if isinstance(region_of, pd.Series) else pd.Series(dict(region_of))
    current = current[~current.index.duplicated()].astype("object")
    pairs["now"] = pairs["uscc"].map(current)
    moved = pairs.loc[pairs["now"].notna() & (pairs["now"].astype(str) != pairs["stored"])]
    if len(moved):
        table = cast(Table, Invitation.__table__)  # Core: an executemany, not ORM by key
        session.execute(
            update(table)
            .where(table.c.uscc == bindparam("b_uscc"), table.c.region_code == bindparam("b_old"))
            .values(region_code=bindparam("b_new")),
            [
                {"b_uscc": u, "b_old": o, "b_new": str(n)}
                for u, o, n in moved[["uscc", "stored", "now"]].itertuples(index=False)
            ],
        )
        session.commit()
    return len(moved)


def get_invitation(session: Session, invitation_id: str) -> Invitation:
    row = session.get(Invitation, invitation_id)
    if row is None:
        raise InvitationNotFound()
    return row


def record_outcome(
    session: Session, row: Invitation, outcome: str, outcome_on: date, recorded_by: str
) -> Invitation:
    """Move an invitation to `outcome` on `outcome_on` (not before it was sent)."""
    if outcome not in OUTCOMES:
        raise UsageError(f"Unknown outcome '{outcome}'; use one of: {', '.join(OUTCOMES)}.")
    if outcome not in NEXT.get(row.outcome, ()):
        raise OutcomeConflict(row.outcome, outcome)
    if outcome_on < row.invited_on:
        raise UsageError(
            f"outcome_on {outcome_on} is before the invitation was sent ({row.invited_on})."
        )
    row.outcome = outcome
    row.outcome_on = outcome_on
    row.outcome_by = recorded_by
    session.commit()
    return row


def list_invitations(
    session: Session,
    *,
    regions: tuple[str, ...] | None = None,
    tier: str | None = None,
    uscc: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Invitation], int]:
    """Invitations, newest first, within `regions` (prefixes) when given, and their total."""
    query = select(Invitation)
    if regions is not None:
        query = query.where(or_(*[Invitation.region_code.startswith(p) for p in regions]))
    if tier:
        query = query.where(Invitation.tier == tier)
    if uscc:
        query = query.where(Invitation.uscc == uscc)
    if outcome:
        query = query.where(Invitation.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Invitation.created_at.desc(), Invitation.invitation_id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def outcomes_frame(session: Session) -> pd.DataFrame:
    """Every recorded invitation as the contract's `invitations` table (canonical dtypes)."""
    rows = session.execute(
        select(
            Invitation.invitation_id,
            Invitation.uscc,
            Invitation.tier,
            Invitation.invited_on,
            Invitation.outcome,
            Invitation.outcome_on,
        ).order_by(Invitation.invitation_id)
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=CONTRACT_COLUMNS)
    return conform(TABLES["invitations"], frame)


def load_into_store(session: Session, store: Store) -> LoadResult:
    """Upsert the recorded invitations into the store's `invitations` table (labels read it there)."""
    frame = outcomes_frame(session)
    table = TABLES["invitations"]
    batch = Batch(Path("records"))
    batch.tables["invitations"] = TableBatch.of(table, Path("records.db"), frame, len(frame), 0)
    return store.load(batch)


def feed_outcomes(store: Store, settings: Settings) -> int:
    """Before training: upsert the invitations recorded by the service into the store.

    Returns how many recorded invitations there are (0 when the service has never
    run here, in which case no records database is created).
    """
    from discovery.records.database import open_records

    if not settings.database_url and not settings.paths.records.exists():
        return 0
    records = open_records(settings)
    try:
        with records.session() as session:
            frame = outcomes_frame(session)
            if len(frame):
                load_into_store(session, store)
    finally:
        records.close()
    return len(frame)
