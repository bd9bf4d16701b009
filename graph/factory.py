"""Opening the store the settings name.

Kept apart from `graph.store` (the interface) so the interface imports neither
implementation, and each implementation imports only the interface.
"""

from __future__ import annotations

from graph.embedded import EmbeddedStore
from graph.settings import Settings, get_settings
from graph.store import Store


def open_store(settings: Settings | None = None) -> Store:
    """The store the settings name: embedded under `home`, or Neo4j at `neo4j_uri`."""
    settings = settings or get_settings()
    if settings.store == "neo4j":
        # imported here so the embedded path never loads the Neo4j driver
        from graph.neo4j_store import Neo4jStore

        return Neo4jStore.from_settings(settings)
    return EmbeddedStore(settings.home / "store")
