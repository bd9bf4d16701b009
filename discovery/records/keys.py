"""API keys: created with a role (and regions for officials), stored as salted digests.

A key reads `sdk_<key id>_<secret>`. The key id finds the row; the secret is 256
random bits, so a salted SHA-256 is enough (slow hashes such as scrypt protect
guessable passwords, not random tokens) and keeps each request cheap. Digests are
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from discovery.records.schema import ApiKey, utcnow
from discovery.vocabulary import check_region
from graph.errors import UsageError

ROLES: tuple[str, ...] = ("official", "analyst", "platform", "admin")
KEY_PREFIX = "sdk"
_KEY_SHAPE = re.compile(r"sdk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")


@dataclass(frozen=True)
class CreatedKey:
    key_id: str
    role: str
    regions: tuple[str, ...]
    secret: str  # the whole key, shown once


def check_regions(role: str, regions: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validated region prefixes: officials need at least one; the other roles take none."""
    if role not in ROLES:
        raise UsageError(f"Unknown role '{role}'; use one of: {', '.join(ROLES)}.")
    cleaned = tuple(dict.fromkeys(p.strip() for p in regions or () if p.strip()))
    if role == "official" and not cleaned:
        raise UsageError(
            "An official key needs --regions: region-code prefixes of 2, 4 or 6 digits."
        )
    if role != "official" and cleaned:
        raise UsageError(f"Only official keys are bound to regions; a {role} key sees all.")
    for prefix in cleaned:
        check_region(prefix, "a region prefix")
    return cleaned


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def create_key(
    session: Session, role: str, regions: list[str] | None = None, label: str | None = None
) -> CreatedKey:
    """Create and store a key; the returned secret is the only copy."""
    prefixes = check_regions(role, regions)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    session.add(
        ApiKey(
            key_id=key_id,
            salt=salt,
            digest=_digest(salt, secret),
            role=role,
            regions=",".join(prefixes),
            label=label,
        )
    )
    session.commit()
    return CreatedKey(key_id, role, prefixes, f"{KEY_PREFIX}_{key_id}_{secret}")


def list_keys(session: Session) -> list[ApiKey]:
    """Every key ever created, oldest first, revoked ones included (rows hold digests, not keys)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)))


def revoke_key(session: Session, key_id: str) -> tuple[ApiKey, bool]:
    """Revoke a key by its id (or the whole key): from now on it authenticates nothing.

    Returns the key and whether this call revoked it (False: it already was).
    """
    text = key_id.strip()
    whole = _KEY_SHAPE.fullmatch(text)  # the whole key given: only its id is used or shown
    key_id = whole.group(1) if whole else text.removeprefix(f"{KEY_PREFIX}_")
    row = session.get(ApiKey, key_id)
    if row is None:
        raise UsageError(f"There is no API key with id '{key_id}'; see `discovery keys list`.")
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = utcnow()
    session.commit()
    return row, True


def authenticate(session: Session, presented: str) -> ApiKey | None:
    """The live key matching `presented`, or None (malformed, unknown, revoked or wrong secret)."""
    match = _KEY_SHAPE.fullmatch(presented.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        # spend the same work as a real comparison, so timing does not tell ids apart
        hmac.compare_digest(_digest("00" * 16, secret), "0" * 64)
        return None
    if not hmac.compare_digest(_digest(row.salt, secret), row.digest):
        return None
    return row
