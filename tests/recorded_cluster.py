"""A Dask `LocalCluster` that keeps what its scheduler saw, for tests that check which
work ran on a cluster the code under test started itself."""

from __future__ import annotations

from typing import Any, ClassVar

import distributed
from distributed.core import Status


class RecordedCluster(distributed.LocalCluster):
    """A `LocalCluster` that keeps, as it closes, what its scheduler saw."""

    started: ClassVar[list[RecordedCluster]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers_seen = 0
        self.tasks_seen: set[str] = set()
        RecordedCluster.started.append(self)

    def close(self, *args: Any, **kwargs: Any) -> Any:
        if self.status == Status.running:
            self.workers_seen = len(self.scheduler.workers)
            self.tasks_seen = set(self.scheduler.task_prefixes)
        return super().close(*args, **kwargs)
