"""What the running service holds: settings, the store, the records database, the list cache."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from api.config import ServiceSettings
from api.lists import ListCache
from api.ratelimit import RateLimiter
from discovery.criteria import Criteria, default_criteria
from discovery.records import Records, open_records
from discovery.registry import Registry
from graph.factory import open_store
from graph.store import Store


@dataclass
class Service:
    settings: ServiceSettings
    store: Store
    records: Records
    registry: Registry
    criteria: Criteria
    lists: ListCache
    limiter: RateLimiter
    #: one training run at a time (it uses every core)
    training: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: ServiceSettings) -> Service:
        store = open_store(settings)
        registry = Registry(settings.home / "models")
        criteria = default_criteria()
        return cls(
            settings=settings,
            store=store,
            records=open_records(settings),
            registry=registry,
            criteria=criteria,
            lists=ListCache(store, registry, criteria, settings.list_size, settings.cached_lists),
            limiter=RateLimiter(settings.rate_per_second, settings.rate_burst),
        )

    def close(self) -> None:
        self.store.close()
        self.records.close()
