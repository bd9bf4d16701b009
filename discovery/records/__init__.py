"""The transactional store: API keys (hashed), invitations and their outcomes, the audit log.

SQLAlchemy 2 on SQLite (`$DISCOVERY_HOME/records.db`, the default) or PostgreSQL
(`DISCOVERY_DATABASE_URL`). Recorded invitation outcomes feed training as labels:
`outcomes_frame` gives them in the contract's `invitations` format and
`load_into_store` upserts them into the store, where `discovery.labels` reads them.
"""

from discovery.records.audit import ACTIONS, list_entries, write_entry
from discovery.records.database import Records, database_url, open_records
from discovery.records.idempotency import (
    IdempotencyConflict,
    IdempotencyInProgress,
    claim,
    complete,
    release,
    replay,
)
from discovery.records.invitations import (
    OUTCOMES,
    InvitationNotFound,
    OutcomeConflict,
    feed_outcomes,
    get_invitation,
    invite,
    list_invitations,
    load_into_store,
    outcomes_frame,
    record_outcome,
)
from discovery.records.keys import ROLES, CreatedKey, authenticate, check_regions, create_key
from discovery.records.schema import ApiKey, AuditEntry, IdempotentRequest, Invitation

__all__ = [
    "ACTIONS",
    "OUTCOMES",
    "ROLES",
    "ApiKey",
    "AuditEntry",
    "CreatedKey",
    "IdempotencyConflict",
    "IdempotencyInProgress",
    "IdempotentRequest",
    "Invitation",
    "InvitationNotFound",
    "OutcomeConflict",
    "Records",
    "authenticate",
    "check_regions",
    "claim",
    "complete",
    "create_key",
    "database_url",
    "feed_outcomes",
    "get_invitation",
    "invite",
    "list_entries",
    "list_invitations",
    "load_into_store",
    "open_records",
    "outcomes_frame",
    "record_outcome",
    "release",
    "replay",
    "write_entry",
]
