"""What the service holds: rows per table in the store (and, later, models per tier)."""

from __future__ import annotations

from typing import Any

from graph.settings import Settings
from graph.store import open_store


def collect_status(settings: Settings) -> dict[str, Any]:
    with open_store(settings) as store:
        described = store.describe()
    return {"home": str(settings.home), "store": described}
