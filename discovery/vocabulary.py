"""The words every entry point shares: tiers and decision dates, each checked by one rule.

The CLI, the API and the notebooks all pass what a caller typed through these
functions, so a tier or a date is refused the same way everywhere. Messages name
the value, never an option of one entry point (the CLI adds its flag in front).
"""

from __future__ import annotations

import re
from datetime import date

from graph.contract import TARGET_TIERS, Tier
from graph.errors import UsageError

__all__ = [
    "EARLIEST",
    "REGION_PATTERN",
    "DateLike",
    "Tier",
    "as_date",
    "check_region",
    "check_tier",
    "decision_date",
]

#: the earliest decision date the service reasons about
EARLIEST = date(2000, 1, 1)
DateLike = date | str


def check_tier(tier: str) -> Tier:
    """`tier` if it is a tier the service invites for, else a `UsageError` naming both."""
    if tier not in TARGET_TIERS:
        raise UsageError(f"Unknown tier '{tier}'; use one of: {', '.join(TARGET_TIERS)}.")
    return tier  # type: ignore[return-value]


def as_date(value: DateLike, name: str = "as_of") -> date:
    """A `date`, or a string written YYYY-MM-DD, as a `date` (any day)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a date written YYYY-MM-DD, not '{value}'.") from None


def decision_date(value: DateLike, name: str = "as_of", *, today: date | None = None) -> date:
    """A decision date: a date from 2000-01-01 up to today (no list is made for the future)."""
    day = as_date(value, name)
    last = today or date.today()
    if not EARLIEST <= day <= last:
        raise UsageError(f"{name} must lie between {EARLIEST} and today ({last}), not {day}.")
    return day


#: a region-code prefix: province (2), city (4) or county (6) ASCII digits, never full-width
REGION_PATTERN = r"^[0-9]{2}(?:[0-9]{2}){0,2}$"
_REGION = re.compile(REGION_PATTERN)


def check_region(prefix: str | None, name: str = "region") -> str | None:
    """A region-code prefix (None for none), refused unless 2, 4 or 6 ASCII digits."""
    if prefix is None or prefix == "":
        return None
    if not _REGION.fullmatch(prefix):
        raise UsageError(
            f"{name} must be a province, city or county code prefix of 2, 4 or 6 digits "
            f"(0-9), not '{prefix}'."
        )
    return prefix
