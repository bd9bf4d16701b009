"""What the running service holds: its settings, the workspace, the records database, the limiters.

Everything about data, models and lists goes through the `Workspace` (the one
application service the CLI and the notebooks use too); the HTTP layer adds only
who may ask (keys, roles, regions), the records of invitations and the audit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from api.config import ServiceSettings
from api.ratelimit import RateLimiter
from discovery.criteria import default_criteria
from discovery.records import Records, open_records
from discovery.workspace import Workspace


@dataclass
class Service:
    settings: ServiceSettings
    workspace: Workspace
    records: Records
    limiter: RateLimiter
    #: failed authentications per client address
    failures: RateLimiter
    #: one training run at a time (it uses every core)
    training: threading.Lock = field(default_factory=threading.Lock)
    #: the store version invitations' regions were last brought up to date with
    regions_synced: str | None = None
    regions_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: ServiceSettings) -> Service:
        workspace = Workspace(settings, default_criteria())
        workspace.version()  # open the store now: one that cannot be opened stops the start
        return cls(
            settings=settings,
            workspace=workspace,
            records=open_records(settings),
            limiter=RateLimiter(settings.rate_per_second, settings.rate_burst),
            failures=RateLimiter(settings.failed_auth_per_minute / 60, settings.failed_auth_burst),
        )

    def close(self) -> None:
        self.workspace.close()
        self.records.close()
