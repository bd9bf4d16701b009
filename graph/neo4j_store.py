"""The Neo4j store: the knowledge graph of record, through the official `neo4j` driver.

The graph model is described in `graph.neo4j_queries`. A table is read in pages of
rows (one record per page, not per row), then goes through the same `conform`,
`sort_by_key` and `known_at` as the embedded store, so both return identical frames for
identical data. Like the embedded store, the store keeps the tables it has read for the
current load version (`version()`), so reads at many dates cost one pass over Neo4j.

Two ways in:

- **The offline importer**, for a first load into an empty database on a server this
  machine runs with `tools/neo4j` (`NEO4J_LAUNCHER_HOME` names its data directory):
  the batch is written as the importer's CSV files (`graph.neo4j_import`), the launcher
  stops the server, runs `neo4j-admin database import full` and starts it again, and the
  constraints are created. `NEO4J_IMPORT` chooses: `auto` (the default) takes this path
  for an empty database of such a server when the batch is large; `offline` insists (and
  refuses a database that holds anything, or a server it cannot stop); `online` never.
- **`UNWIND` transactions** for everything else: later loads, and any load into a
  server elsewhere. What they guarantee (Neo4j cannot switch versions atomically like
  the embedded store, so this is the rule instead of all-or-nothing):

  - Validation is finished before anything is written: `load` takes a validated
    `Batch`, and the schema (uniqueness constraints) is in place before the first row.
  - Rows are written in batches of `neo4j_batch_size`, one transaction each, sent as
    one list per column (`graph.neo4j_batches`): both ends of the rows are found (or
    made) once per batch by their indexed key, the rows the graph already holds are
    read by the relationship key index, and only new rows are CREATEd (between nodes
    found by id) and changed ones rewritten. A reader never sees half a batch.
  - Loads are idempotent: a row identical to the stored one is not rewritten, and a
    load that finds every row identical reports `changed=False`.
  - A load that stops midway (a crash, a lost connection, a refused constraint) keeps
    the batches already committed; rerunning the same load completes it and ends with
    the same graph as an uninterrupted load. Progress per table is kept in a
    `(:LoadState)` node written in the same transaction as each batch, so the rerun
    skips finished batches; correctness does not depend on that, only speed does.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from graph import neo4j_queries as q
from graph.contract import TABLES, Table
from graph.errors import UsageError
from graph.neo4j_batches import CompanyBatch, RowBatch
from graph.neo4j_control import LauncherControl
from graph.neo4j_import import importer_arguments, write_import_files
from graph.neo4j_runner import QueryRunner, Statement
from graph.store import (
    LoadResult,
    Progress,
    Store,
    frame_fingerprint,
    known_at,
    sort_by_key,
    table_of,
)
from graph.validation import Batch, conform

if TYPE_CHECKING:
    from graph.settings import Settings

log = logging.getLogger(__name__)

#: bump when the graph model changes, so an interrupted load of an older model is not resumed
MODEL_VERSION = 1
#: the order tables are written: companies first, so profiles exist before their facts
LOAD_ORDER: tuple[str, ...] = ("companies", *q.REL_TABLES)
ImportMode = Literal["auto", "offline", "online"]
#: below this many rows `auto` loads an empty database with transactions: restarting the
#: server for the offline importer costs more than it saves
OFFLINE_MIN_ROWS = 250_000
#: rows a read page aims at (each page is one record; memory on the server stays bounded)
PAGE_ROWS = 50_000


class Neo4jStore(Store):
    kind = "neo4j"

    def __init__(
        self,
        runner: QueryRunner,
        batch_size: int = 10_000,
        *,
        import_mode: ImportMode = "auto",
        launcher_home: Path | None = None,
        offline_min_rows: int = OFFLINE_MIN_ROWS,
        parallel: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        if import_mode not in ("auto", "offline", "online"):
            raise ValueError(f"import_mode must be auto, offline or online, not {import_mode!r}")
        self.runner = runner
        self.batch_size = batch_size
        self.import_mode = import_mode
        self.launcher_home = launcher_home
        self.offline_min_rows = offline_min_rows
        self.parallel = max(1, parallel)
        self._schema_ready = False
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Neo4jStore:
        runner = QueryRunner(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
        )
        return cls(
            runner,
            batch_size=settings.neo4j_batch_size,
            import_mode=settings.neo4j_import,
            launcher_home=settings.neo4j_launcher_home,
            parallel=settings.neo4j_load_threads,
        )

    # -- reads --------------------------------------------------------------------------
    def read(self, table: str, as_of: date | None = None) -> pd.DataFrame:
        return known_at(table_of(table), self._full(table), as_of)

    def _full(self, name: str) -> pd.DataFrame:
        """Every row of a table, as of the current load version (read once per version)."""
        version = self.version()
        frame = self._cache.get((version, name))
        if frame is None:
            frame = self._read_all(TABLES[name])
            with self._cache_lock:
                self._cache = {k: v for k, v in self._cache.items() if k[0] == version}
                self._cache[(version, name)] = frame
        return frame

    def _read_all(self, table: Table) -> pd.DataFrame:
        query, page = q.read_page(table.name), self._page_nodes(table.name)
        columns: dict[str, list[Any]] = {c: [] for c in table.column_names}
        after = ""
        while True:
            keys, [record] = self.runner.read(Statement(query, {"after": after, "page": page}))
            found = dict(zip(keys, record, strict=True))
            for c, values in columns.items():
                values += found[c]
            if found["nodes"] < page:
                break
            after = found["last"]
        return sort_by_key(table, conform(table, pd.DataFrame(columns)))

    def _page_nodes(self, table: str) -> int:
        """Company nodes per page, so that a page holds about `PAGE_ROWS` rows."""
        anchor, _ = q.page_anchor(table)
        count = f"MATCH (n:{anchor.label}) RETURN count(n) AS n"
        [[nodes]] = self.runner.read_many([Statement(count)])
        rows = self.counts()[table]
        return int(min(max(PAGE_ROWS * nodes["n"] // max(rows, 1), 1_000), 1_000_000))

    def counts(self) -> dict[str, int]:
        [[record]] = self.runner.read_many([Statement(q.count_all())])
        return {name: int(record[name]) for name in TABLES}

    def version(self) -> str:
        """The load counter (`n000003`; `n000000` before the first load).

        Batches of an unfinished load (under way, or interrupted) are already in the
        graph before the counter moves, so their progress is part of the token then
        (`n000003+1f0c…`); the load that completes them clears it and bumps the counter.
        """
        [rows] = self.runner.read_many([Statement(q.GET_VERSION, {"id": q.STORE_STATE_ID})])
        number = _version_name(rows[0]["version"] if rows else None)
        unfinished = sorted(rows[0]["unfinished"]) if rows else []
        if not unfinished:
            return number
        digest = hashlib.sha256("|".join(unfinished).encode()).hexdigest()[:12]
        return f"{number}+{digest}"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "version": self.version(),
            "uri": self.runner.uri,
            "database": self.runner.database,
        }

    # -- loads --------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create the uniqueness constraints (and their indexes) if missing; wait until online."""
        if self._schema_ready:
            return
        self.runner.schema_many(q.constraint_statements())
        self.runner.schema(q.AWAIT_INDEXES)
        self._schema_ready = True

    def load(self, batch: Batch, progress: Progress | None = None) -> LoadResult:
        control = self._offline_target(batch)
        if control is not None:
            return self._import_offline(batch, control, progress)
        return self._load_transactions(batch, progress)

    # -- the offline importer -------------------------------------------------------------
    def _offline_target(self, batch: Batch) -> LauncherControl | None:
        """The launcher to import through, when this load should use the offline importer."""
        if self.import_mode == "online":
            return None
        rows = sum(len(tb.frame) for tb in batch.tables.values())
        if self.import_mode == "auto" and rows < self.offline_min_rows:
            return None
        where = f"Neo4j at {self.runner.uri}"
        control = LauncherControl.find(self.launcher_home, self.runner.uri)
        if control is None or not control.ping():
            if self.import_mode == "offline":
                raise UsageError(
                    f"NEO4J_IMPORT=offline needs a server run by tools/neo4j on this machine, "
                    f"and {where} is not one: set NEO4J_LAUNCHER_HOME to its data directory, "
                    "or load with NEO4J_IMPORT=online."
                )
            log.info(
                "%s cannot be stopped from here for the offline importer (no tools/neo4j "
                "launcher at NEO4J_LAUNCHER_HOME): loading %s rows with UNWIND transactions",
                where,
                f"{rows:,}",
            )
            return None
        [[nodes]] = self.runner.read_many([Statement("MATCH (n) RETURN count(n) AS n")])
        if nodes["n"]:
            if self.import_mode == "offline":
                raise UsageError(
                    f"The offline import only fills an empty database, and database "
                    f"'{self.runner.database}' of {where} holds {nodes['n']:,} nodes: "
                    "load with NEO4J_IMPORT=auto or online."
                )
            log.info("%s already holds data: loading with UNWIND transactions", where)
            return None
        return control

    def _import_offline(
        self, batch: Batch, control: LauncherControl, progress: Progress | None
    ) -> LoadResult:
        """Write the import files, have the launcher import them, then create the schema."""
        rows = sum(len(tb.frame) for tb in batch.tables.values())
        log.info("loading %s rows with Neo4j's offline importer", f"{rows:,}")
        folder = control.import_folder / f"load-{uuid.uuid4().hex[:12]}"
        try:
            files = write_import_files(batch, folder, str(batch.directory), progress)
            if progress:
                progress("import", 0, 1)
            seconds = control.import_full(importer_arguments(files))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        log.info("the offline importer loaded %s rows in %.1f s", f"{rows:,}", seconds)
        # the server was restarted: pooled connections are gone, and the schema with them
        self.runner.reconnect()
        self._schema_ready = False
        if progress:
            progress("constraints", 0, 1)
        self.ensure_schema()
        return LoadResult(dict.fromkeys(TABLES, 0), self.counts(), True, self.version())

    # -- UNWIND transactions --------------------------------------------------------------
    def _load_transactions(self, batch: Batch, progress: Progress | None) -> LoadResult:
        self.ensure_schema()
        before = self.counts()
        plans = [(name, batch.tables[name].frame) for name in LOAD_ORDER if name in batch.tables]
        total = sum(_batches(len(frame), self.batch_size) for _, frame in plans)
        offsets, done = {}, 0
        for name, frame in plans:
            offsets[name] = done
            done += _batches(len(frame), self.batch_size)
        stop = threading.Event()

        def one(name: str, frame: pd.DataFrame) -> int:
            try:
                return self._load_table(name, frame, progress, offsets[name], total, stop)
            except BaseException:
                stop.set()
                raise

        # companies first, alone: the other tables' rows name them
        changed_rows = sum(one(name, frame) for name, frame in plans if name == "companies")
        rest = [(name, frame) for name, frame in plans if name != "companies"]
        if self.parallel == 1:
            changed_rows += sum(one(name, frame) for name, frame in rest)
        else:
            # tables in parallel, each in its own transactions, the largest started first
            rest.sort(key=lambda plan: -len(plan[1]))
            with ThreadPoolExecutor(self.parallel, thread_name_prefix="neo4j-load") as pool:
                futures = [pool.submit(one, name, frame) for name, frame in rest]
                failures = [e for e in (f.exception() for f in futures) if e is not None]
            # the failure that stopped the others, not a table that stopped because of it
            for failure in sorted(failures, key=lambda e: isinstance(e, _Stopped)):
                raise failure
            changed_rows += sum(f.result() for f in futures)
        after = self.counts()
        changed = changed_rows > 0 or after != before
        statements = [Statement(q.CLEAR_LOAD_STATE)]
        if changed:
            params = {"id": q.STORE_STATE_ID, "source": str(batch.directory)}
            statements.append(Statement(q.BUMP_STORE_STATE, params))
        results = self.runner.write(statements)
        version = _version_name(results[1][0]["version"]) if changed else self.version()
        return LoadResult(before, after, changed, version)

    def _load_table(
        self,
        name: str,
        frame: pd.DataFrame,
        progress: Progress | None,
        done: int,
        total: int,
        stop: threading.Event,
    ) -> int:
        """Write one table batch by batch; the number of rows that were new or different."""
        table = TABLES[name]
        n_batches = _batches(len(frame), self.batch_size)
        load_id = self._load_id(table, frame)
        [stored] = self.runner.read_many([Statement(q.GET_LOAD_STATE, {"table": name})])
        start, changed = 0, 0
        if stored and stored[0]["load_id"] == load_id:
            # the same load was interrupted: its first batches are already committed
            start, changed = int(stored[0]["batches_done"]), int(stored[0]["rows_changed"])
        writer = CompanyBatch() if name == "companies" else RowBatch(q.REL_TABLES[name])
        for i in range(start, n_batches):
            if stop.is_set():
                raise _Stopped(f"the load of {name} stopped: another table failed")
            if progress:
                progress(f"load {name}", done + i, total)
            chunk = frame.iloc[i * self.batch_size : (i + 1) * self.batch_size]
            state = {"table": name, "load_id": load_id, "batches_done": i + 1}
            changed = self.runner.transaction(writer.prepare(chunk, state))
        if progress:
            progress(f"load {name}", done + n_batches, total)
        return changed

    def _load_id(self, table: Table, frame: pd.DataFrame) -> str:
        digest = hashlib.sha256(
            f"{MODEL_VERSION}|{table.name}|{self.batch_size}|{len(frame)}|".encode()
        )
        digest.update(frame_fingerprint(frame).encode())
        return digest.hexdigest()[:16]

    # -- maintenance --------------------------------------------------------------------
    def clear(self, chunk: int = 10_000) -> None:
        """Delete every node and relationship of the database (tests, benchmarks); keeps the schema."""
        for query in (q.DELETE_SOME_RELATIONSHIPS, q.DELETE_SOME_NODES):
            while True:
                [rows] = self.runner.write([Statement(query, {"limit": chunk})])
                if not rows or rows[0]["deleted"] == 0:
                    break
        self._cache.clear()

    def close(self) -> None:
        self.runner.close()


class _Stopped(Exception):
    """A table's load stopped because another table's failed (loads in parallel)."""


def _batches(rows: int, size: int) -> int:
    return -(-rows // size)


def _version_name(number: int | None) -> str:
    return f"n{int(number or 0):06d}"
