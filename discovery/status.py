"""What the service holds: rows per table in the store, models per tier, the serving model."""

from __future__ import annotations

from typing import Any

from discovery.registry import Registry
from graph.factory import open_store
from graph.settings import Settings


def collect_status(settings: Settings) -> dict[str, Any]:
    with open_store(settings) as store:
        described = store.describe()
    registry = Registry(settings.home / "models")
    return {"home": str(settings.home), "store": described, "models": registry.summary()}
