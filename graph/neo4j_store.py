"""The Neo4j store: the knowledge graph of record, through the official `neo4j` driver.

The graph model is described in `graph.neo4j_queries`. Reads filter `known_on <= $as_of`
in Cypher, then go through the same `known_at`, `conform` and `sort_by_key` as the
embedded store, so both return identical frames for identical data.

What a load guarantees (Neo4j cannot switch versions atomically like the embedded
store, so this is the rule instead of all-or-nothing):

- Validation is finished before anything is written: `load` takes a validated
  `Batch`, and the schema (uniqueness constraints) is in place before the first row.
- Rows are written in batches of `neo4j_batch_size`, one transaction each, as
  `UNWIND $rows ... MERGE` on the natural key. A reader never sees half a batch.
- Loads are idempotent: a row identical to the stored one is not rewritten, and a
  load that finds every row identical reports `changed=False`.
- A load that stops midway (a crash, a lost connection, a refused constraint)
  keeps the batches already committed; rerunning the same load completes it and
  ends with the same graph as an uninterrupted load. Progress per table is kept in
  a `(:LoadState)` node written in the same transaction as each batch, so the rerun
  skips finished batches; correctness does not depend on that, only speed does.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from graph import neo4j_queries as q
from graph.contract import TABLES, Table
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

#: bump when the graph model changes, so an interrupted load of an older model is not resumed
MODEL_VERSION = 1
#: the order tables are written: companies first, so profiles exist before their facts
LOAD_ORDER: tuple[str, ...] = ("companies", *q.REL_TABLES)


class Neo4jStore(Store):
    kind = "neo4j"

    def __init__(self, runner: QueryRunner, batch_size: int = 10_000) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.runner = runner
        self.batch_size = batch_size
        self._schema_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Neo4jStore:
        runner = QueryRunner(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
        )
        return cls(runner, batch_size=settings.neo4j_batch_size)

    # -- reads --------------------------------------------------------------------------
    def read(self, table: str, as_of: date | None = None) -> pd.DataFrame:
        contract = table_of(table)
        query = q.read_companies() if table == "companies" else q.read_rows(q.REL_TABLES[table])
        columns, rows = self.runner.read(Statement(query, {"as_of": as_of}))
        frame = _frame(columns, rows)
        return known_at(contract, sort_by_key(contract, conform(contract, frame)), as_of)

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
        for statement in q.constraint_statements():
            self.runner.schema(statement)
        self.runner.schema(q.AWAIT_INDEXES)
        self._schema_ready = True

    def load(self, batch: Batch, progress: Progress | None = None) -> LoadResult:
        self.ensure_schema()
        before = self.counts()
        plans = [(name, batch.tables[name].frame) for name in LOAD_ORDER if name in batch.tables]
        total = sum(_batches(len(frame), self.batch_size) for _, frame in plans)
        done = 0
        changed_rows = 0
        for name, frame in plans:
            changed_rows += self._load_table(name, frame, progress, done, total)
            done += _batches(len(frame), self.batch_size)
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
        self, name: str, frame: pd.DataFrame, progress: Progress | None, done: int, total: int
    ) -> int:
        """Write one table batch by batch; the number of rows that were new or different."""
        table = TABLES[name]
        n_batches = _batches(len(frame), self.batch_size)
        load_id = self._load_id(table, frame)
        [state] = self.runner.read_many([Statement(q.GET_LOAD_STATE, {"table": name})])
        start, changed = 0, 0
        if state and state[0]["load_id"] == load_id:
            # the same load was interrupted: its first batches are already committed
            start, changed = int(state[0]["batches_done"]), int(state[0]["rows_changed"])
        upsert = q.upsert_companies() if name == "companies" else q.upsert_rows(q.REL_TABLES[name])
        query = q.with_progress(upsert)
        for i in range(start, n_batches):
            if progress:
                progress(f"load {name}", done + i, total)
            chunk = frame.iloc[i * self.batch_size : (i + 1) * self.batch_size]
            rows = _company_rows(chunk) if name == "companies" else _rel_rows(name, chunk)
            params = {"rows": rows, "table": name, "load_id": load_id, "batches_done": i + 1}
            [records] = self.runner.write([Statement(query, params)])
            changed = int(records[0]["rows_changed"])
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

    def close(self) -> None:
        self.runner.close()


# -- rows to parameters and back ----------------------------------------------------------
def _batches(rows: int, size: int) -> int:
    return -(-rows // size)


def _version_name(number: int | None) -> str:
    return f"n{int(number or 0):06d}"


def _python_values(table: Table, frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each column as a list of plain Python values or None; dates as ISO text."""
    out: dict[str, list[Any]] = {}
    for col in table.columns:
        series = frame[col.name]
        if col.kind == "date":
            series = series.dt.strftime("%Y-%m-%d")
        values = series.tolist()
        missing = series.isna().tolist()
        out[col.name] = [None if m else v for v, m in zip(values, missing, strict=True)]
    return out


def _keys(values: dict[str, list[Any]], columns: tuple[str, ...]) -> list[str]:
    """Key text per row: the one column's value, or the columns' values joined by `|`."""
    parts = [[str(v) for v in values[c]] for c in columns]
    if len(parts) == 1:
        return parts[0]
    return [q.KEY_SEPARATOR.join(p) for p in zip(*parts, strict=True)]


def _company_rows(chunk: pd.DataFrame) -> list[list[Any]]:
    table = TABLES["companies"]
    values = _python_values(table, chunk)
    return [list(row) for row in zip(*(values[c] for c in table.column_names), strict=True)]


def _rel_rows(name: str, chunk: pd.DataFrame) -> list[list[Any]]:
    """[source key, target key, row key, *rel columns] per row (see `neo4j_queries`)."""
    rt = q.REL_TABLES[name]
    values = _python_values(rt.contract, chunk)
    columns = [
        _keys(values, rt.source.columns),
        _keys(values, rt.target.columns),
        _keys(values, rt.contract.key),
        *(values[c] for c in rt.rel_columns),
    ]
    return [list(row) for row in zip(*columns, strict=True)]


def _frame(columns: list[str], rows: list[list[Any]]) -> pd.DataFrame:
    """Records as a frame (dates are ISO text here; `conform` parses them)."""
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows, columns=columns)
