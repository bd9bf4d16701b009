"""Feature tables on a Dask cluster (`DISCOVERY_ENGINE=dask`): the same tables, spread out.

    with dask_client() as client:  # DISCOVERY_DASK_SCHEDULER, or a LocalCluster
        run = DaskRun(client, history)  # partitions sent to the workers once
        families = run.families_at(as_of, needed)  # one frame per family, as on one machine

The client reads the store once (`features.history.History`) and splits it into
partitions of companies (`features.partitions`), which stay on the workers for every
date. At a date each worker builds its partitions' companies' families that look at a
company's own rows; two things look across companies and are done explicitly:

- equity's investor track record: each partition counts its share of every investor's
  portfolio, the client adds them up, and each partition takes the leave-one-out shares;
- the graph families (`supply_chain`, `embedding`): the matrices are blocks of rows on
  the workers (`features.dask_graph`), every propagation step a product per block.

Categoricals whose values a partition sees only in part (industry, region) get the
union of the partitions' values as categories. The point-in-time rule is the one
`DatedContext` applies, on each worker. `features.build` assembles the table, so the
engine changes where the work runs, never the table.

Families swapped in with `features.registry.replaced` are not seen by the workers,
which import the registry afresh: such a build is refused (`check_families`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from typing import Any

import dask
import pandas as pd

from features import (
    awards,
    dask_families,
    dask_graph,
    embedding,
    equity,
    financial,
    ip,
    profile,
    registry,
    standards,
    supply_chain,
    talent,
)
from features.history import DatedContext, History
from features.memory import release_memory
from features.partitions import (
    OWN_ROWS,
    PartHistory,
    concat_parts,
    frames_of,
    investor_counts,
    iter_split_history,
    own_rows_at,
    track_record,
)
from graph.errors import UsageError, WorkerLostError
from graph.settings import Settings, get_settings

#: seconds to wait for the scheduler named by DISCOVERY_DASK_SCHEDULER before giving up
CONNECT_SECONDS = 10.0
#: when the workers of a local cluster spill, stop taking tasks, and (Dask's own 95 %)
#: are restarted, as shares of their memory limit. Dask's defaults (spill from 60-70 %,
#: pause at 80 %) leave 15 % for what a worker's running task and the partitions read
#: back for it add before the memory monitor acts, and at 3,000,000 companies on 4 GB
#: workers a new date's dated partitions took a worker past 95 % in seconds.
WORKER_MEMORY = {
    "distributed.worker.memory.target": 0.4,
    "distributed.worker.memory.spill": 0.5,
    "distributed.worker.memory.pause": 0.6,
}
#: at most this many companies per partition (more partitions than workers otherwise)
PARTITION_COMPANIES = 250_000
#: at most this share of the smallest worker's memory limit per partition: a worker
#: builds a partition's families in several times the partition's own memory, beside
#: what it has not spilled (a 3,000,000-company world in 12 partitions lost a 4 GB worker,
#: and in 24 its workers reached the 95 % at which Dask restarts them)
PARTITION_MEMORY_SHARE = 1 / 16
#: the tables the client keeps once the partitions are sent: what the graph families
#: (node ids, links, investors, co-filed rights, holdings) and each date's companies read
CLIENT_TABLES = ("companies", "supply_links", "investments", "patents", "certifications")
#: families computed on the graph blocks, by name
GRAPH_FAMILIES = {
    "supply_chain": dask_families.supply_chain,
    "embedding": dask_families.embedding_columns,
}


def partition_count(companies: int, history_bytes: int, threads: int, worker_memory: int) -> int:
    """How many partitions a history is cut into: at least one per worker thread, at
    most `PARTITION_COMPANIES` companies each, and each within
    `PARTITION_MEMORY_SHARE` of a worker's memory limit (0: no limit)."""
    by_memory = (
        math.ceil(history_bytes / (worker_memory * PARTITION_MEMORY_SHARE)) if worker_memory else 1
    )
    return max(1, threads, math.ceil(companies / PARTITION_COMPANIES), by_memory)


def check_families(needed: set[str]) -> None:
    """Refuse, before any work, a family the engine does not build as registered: one it
    does not know, or one swapped in this process (`registry.replaced`), which its
    workers would never see."""
    registered = {
        "profile": profile.compute,
        "financial": financial.compute,
        "ip": ip.compute,
        "awards": awards.compute,
        "talent": talent.compute,
        "equity": equity.compute,
        "supply_chain": supply_chain.compute,
        "embedding": embedding.compute,
        "standards": standards.compute_quality,
    }
    unknown = sorted(needed - set(registered))
    if unknown:
        raise UsageError(
            f"The dask engine does not build the feature families {unknown}; "
            "set DISCOVERY_ENGINE=pandas for them."
        )
    swapped = sorted(n for n in needed if registry.family(n).compute is not registered[n])
    if swapped:
        raise UsageError(
            f"The feature families {swapped} are replaced in this process, which the dask "
            "engine's workers cannot see; set DISCOVERY_ENGINE=pandas for this build."
        )


@contextmanager
def dask_client(settings: Settings | None = None) -> Iterator[Any]:
    """A Dask client for the settings: the scheduler of `DISCOVERY_DASK_SCHEDULER`, or a
    `LocalCluster` of `DISCOVERY_DASK_WORKERS` processes (one thread each, at most
    `DISCOVERY_DASK_MEMORY_LIMIT` each). Closed, with the local cluster, on exit.

    While open it is the process's default client: the actors that hold the graph's
    blocks (`features.dask_graph`) answer through it."""
    from distributed import Client, LocalCluster

    settings = settings or get_settings()
    address = settings.dask_scheduler
    if address:
        try:
            client = Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError):
            raise UsageError(
                f"No Dask scheduler answers at {address} (DISCOVERY_DASK_SCHEDULER) within "
                f"{CONNECT_SECONDS:g} seconds: start it, or unset the variable to run a local cluster."
            ) from None
        try:
            _workers_of(client, address)
            with _lost_workers_explained(f"the cluster at {address}: more memory per worker"):
                yield client
        finally:
            client.close()
        return
    try:
        with dask.config.set(WORKER_MEMORY):  # the workers take the config they start with
            cluster = LocalCluster(
                n_workers=settings.dask_workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=settings.dask_memory_limit,
                dashboard_address=":0",  # no fixed port: the HTTP routes never clash
                silence_logs=logging.ERROR,
            )
    except ValueError:
        raise UsageError(
            f"DISCOVERY_DASK_MEMORY_LIMIT must be a size such as 4GB, not "
            f"{settings.dask_memory_limit!r}."
        ) from None
    try:
        with (
            Client(cluster, direct_to_workers=True) as client,  # actors answer directly
            _lost_workers_explained(
                f"DISCOVERY_DASK_MEMORY_LIMIT, now {settings.dask_memory_limit}, or "
                f"DISCOVERY_DASK_WORKERS, now {settings.dask_workers}: more memory or more workers"
            ),
        ):
            # a local worker's standard output is the command's (native libraries print
            # there, LightGBM's network notes among them): to the worker's standard error.
            # A builtin, so the workers import nothing for it (a class of this package
            # would pull the whole package into every worker: 160 MB against 65 MB)
            client.run(os.dup2, 2, 1)
            yield client
    finally:
        cluster.close()


def _workers_of(client: Any, address: str) -> None:
    """Wait up to `CONNECT_SECONDS` for a running scheduler to have a worker (one that
    scales up may be starting them); a scheduler without any is one plain sentence, not
    a build that waits for ever or fails on an empty list of workers."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_SECONDS)
    except TimeoutError:
        raise UsageError(
            f"The Dask scheduler at {address} (DISCOVERY_DASK_SCHEDULER) has no workers after "
            f"{CONNECT_SECONDS:g} seconds: start some (dask worker {address}), or unset the "
            "variable to run a local cluster."
        ) from None


@contextmanager
def _lost_workers_explained(change: str) -> Iterator[None]:
    """A worker lost mid-build (Dask restarts one that passes 95 % of its memory limit)
    takes the partitions it held with it: one plain sentence saying what to `change`,
    instead of Dask's cancelled futures."""
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    try:
        yield
    except (FutureCancelledError, KilledWorker, CommClosedError) as exc:
        raise WorkerLostError(
            f"A Dask worker was lost during the feature build ({type(exc).__name__}): it "
            "ran out of memory or stopped, and the partitions it held went with it. "
            f"Change {change}, then run the command again (dates already built are kept "
            "in the workspace's snapshot cache and not built again)."
        ) from None


class DaskRun:
    """A history's partitions on the workers of `client`, and the families at a date."""

    def __init__(self, client: Any, history: History) -> None:
        self.client = client
        self.history = history.load()
        n = len(self.history.frames["companies"])
        workers = client.scheduler_info()["workers"]
        threads = sum(w["nthreads"] for w in workers.values())
        limits = [int(w.get("memory_limit") or 0) for w in workers.values()]
        size = sum(
            int(f.memory_usage(index=False, deep=True).sum()) for f in self.history.frames.values()
        )
        self.parts = partition_count(n, size, threads, min(limits) if all(limits) else 0)
        # sent once, one partition at a time and the workers in turn: a worker that
        # receives more than its memory allows spills the partitions it already holds
        # (all of its share in one message would have to fit at once), and the client
        # holds one partition beside the whole, not all of them
        addresses = sorted(workers)
        self.partitions = []
        for k, part in enumerate(iter_split_history(self.history, self.parts)):
            [future] = client.scatter([part], workers=[addresses[k % len(addresses)]], hash=False)
            self.partitions.append(future)
            del part
        # the rest of the store lives on the workers now: the client keeps what its own
        # steps read, so the other tables go once the caller lets go of `history`
        frames, universe = self.history.frames, self.history.universe
        slim = PartHistory({name: frames[name] for name in CLIENT_TABLES}, universe, history.latest)
        slim.memo = self.history.memo
        self.history = slim

    def families_at(self, as_of: date, needed: set[str], meter: Any) -> dict[str, pd.DataFrame]:
        """Each family of `needed` at `as_of`, one row per company, as `family.compute`
        gives it over the whole (the standards family without threshold columns)."""
        check_families(needed)
        client = self.client
        out: dict[str, pd.DataFrame] = {}
        # the graph families first: their working arrays in this process are then let
        # go before the partitions' frames come in, not held beside them (at 3,000,000
        # companies the frames are 3.5 GB and the graph's arrays up to 2.5 GB)
        graph = [name for name in GRAPH_FAMILIES if name in needed]
        if graph:
            ctx = DatedContext(self.history, as_of)
            for name in graph:
                with meter(name):
                    out[name] = GRAPH_FAMILIES[name](client, ctx, self.parts)
            del ctx  # the date's tables
            release_memory()
        own = [name for name in OWN_ROWS if name in needed]
        if own:
            with meter("partitions"):
                ats = [
                    client.submit(own_rows_at, part, as_of, own, pure=False)
                    for part in self.partitions
                ]
                frames = list(
                    dask_graph.bounded(
                        client, (partial(client.submit, frames_of, a, pure=False) for a in ats)
                    )
                )
                if "equity" in own:
                    investors = len(
                        self.history.frames["investments"]["investor_id"].cat.categories
                    )
                    counts = client.gather(
                        [client.submit(investor_counts, a, investors, pure=False) for a in ats]
                    )
                    whole = {key: sum(c[key] for c in counts) for key in counts[0]}
                    [sent] = client.scatter([whole], broadcast=True, hash=False)
                    equity = dask_graph.bounded(
                        client,
                        (partial(client.submit, track_record, a, sent, pure=False) for a in ats),
                    )
                    for k, frame in enumerate(equity):
                        frames[k]["equity"] = frame
                for a in ats:
                    a.release()
            with meter("combine"):
                # each family's partition frames go once they are joined (at national
                # scale they are gigabytes)
                for name in own:
                    out[name] = concat_parts([f.pop(name) for f in frames])
                del frames
        return out

    def release(self) -> None:
        for future in self.partitions:
            future.release()


def companies_at(history: History, as_of: date) -> pd.DataFrame:
    """The companies known at `as_of`, in company-id order."""
    return DatedContext(history, as_of).companies
