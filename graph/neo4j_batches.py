"""One batch of a Neo4j `UNWIND` load: its parameters (one list per column) and its transaction.

`graph.neo4j_store` cuts a table into batches and runs each one's `Work` in one write
transaction; the queries are in `graph.neo4j_queries`. A relationship table's batch
reads which of its rows the graph already holds (an index seek per row, in the same
transaction) and splits them on the client: new rows are CREATEd between nodes found
by element id, changed ones rewritten by their relationship's element id, identical
ones left alone; only a row that moved to other nodes (or meets a relationship this
loader did not write) takes the slower MERGE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph import neo4j_queries as q
from graph.contract import TABLES
from graph.neo4j_runner import Run, Statement
from graph.neo4j_values import key_text, parameter

Work = Callable[[Run], int]


def _bookkeeping(run: Run, state: dict[str, Any], changed: int) -> int:
    """Record the batch in the table's `(:LoadState)`; the load's running total of changes."""
    [record] = run(Statement(q.SET_LOAD_STATE, {**state, "changed": changed}))
    return int(record["rows_changed"])


class CompanyBatch:
    """Companies: MERGE and profile them, then relink the ones written to region and industry."""

    upsert = q.upsert_companies()
    link = q.link_companies()
    merge_regions = q.merge_nodes(q.REGION)
    merge_industries = q.merge_nodes(q.INDUSTRY)

    def prepare(self, chunk: pd.DataFrame, state: dict[str, Any]) -> Work:
        """The batch's transaction: its parameters are made here, outside it."""
        table = TABLES["companies"]
        params = {c: parameter(table, c, chunk[c]) for c in table.column_names}
        params[q.PROPS] = chunk[table.column_names].notna().sum(axis=1).tolist()

        def write(run: Run) -> int:
            [record] = run(Statement(self.upsert, params))
            rows = record["changed"]
            if rows:
                links = ("uscc", "region_code", "industry_code")
                written = {c: [params[c][i] for i in rows] for c in links}
                regions = sorted(set(written["region_code"]))
                run(Statement(self.merge_regions, {"keys": regions}))
                industries = sorted(set(written["industry_code"]))
                run(Statement(self.merge_industries, {"keys": industries}))
                run(Statement(self.link, written))
            return _bookkeeping(run, state, len(rows))

        return write


class RowBatch:
    """A relationship table: make sure both ends exist, find which rows the graph already
    holds, then CREATE the new rows, rewrite the changed ones and leave identical ones be."""

    def __init__(self, rt: q.RelTable) -> None:
        self.rt = rt
        self.stored = q.stored_rows(rt)
        self.create = q.create_rows(rt)
        self.update = q.update_rows(rt)
        self.upsert = q.upsert_rows(rt)
        self.merge_source = q.merge_nodes(rt.source)
        self.merge_target = q.merge_nodes(rt.target)
        self.same_ends = (rt.source.label, rt.source.key) == (rt.target.label, rt.target.key)
        attributes = {c for ref in (rt.source, rt.target) for c in ref.attributes.values()}
        # columns sent as lists of their own (a one-column end travels as its key)
        self.columns = [
            c
            for c in rt.contract.column_names
            if (c in rt.rel_columns or c in attributes) and c not in rt.endpoint_columns
        ]

    def prepare(self, chunk: pd.DataFrame, state: dict[str, Any]) -> Work:
        """The batch's transaction: its parameters are made here, outside it."""
        rt, table = self.rt, self.rt.contract
        start = key_text(table, chunk, rt.source.columns)
        end = key_text(table, chunk, rt.target.columns)
        params: dict[str, Any] = {
            q.START_KEY: start.to_pylist(),
            q.END_KEY: end.to_pylist(),
            q.ROW_KEY: key_text(table, chunk, table.key).to_pylist(),
            q.PROPS: (1 + chunk[rt.rel_columns].notna().sum(axis=1)).tolist(),
        }
        params |= {c: parameter(table, c, chunk[c]) for c in self.columns}
        if self.same_ends:
            ends = [(self.merge_source, pc.unique(pa.concat_arrays([start, end])))]
        else:
            ends = [(self.merge_source, pc.unique(start)), (self.merge_target, pc.unique(end))]
        merges = [Statement(query, {"keys": keys.to_pylist()}) for query, keys in ends]
        find = Statement(self.stored, {q.ROW_KEY: params[q.ROW_KEY]})

        def write(run: Run) -> int:
            # node key -> element id, per end (an investor's id may be a company's uscc)
            ids = []
            for merge in merges:
                [found] = run(merge)
                ids.append(dict(zip(found["keys"], found["ids"], strict=True)))
            [stored] = run(find)
            new, changed, other = self.split(params, stored)
            written = 0
            if new:
                rows = _rows(params, new)
                rows[q.START_ID] = [ids[0][k] for k in rows[q.START_KEY]]
                rows[q.END_ID] = [ids[-1][k] for k in rows[q.END_KEY]]
                written += _changed(run, self.create, rows)
            if changed:
                rows = _rows(params, [i for i, _ in changed])
                rows[q.REL_ID] = [stored[q.REL_ID][j] for _, j in changed]
                written += _changed(run, self.update, rows)
            if other:
                written += _changed(run, self.upsert, _rows(params, other))
            return _bookkeeping(run, state, written)

        return write

    def split(
        self, params: dict[str, Any], stored: dict[str, list[Any]]
    ) -> tuple[list[int], list[tuple[int, int]], list[int]]:
        """Which rows of the batch are new, changed (with their place in `stored`), or else.

        A row is identical to its stored relationship when that lies between the row's
        own nodes and holds exactly the row's non-null values (`props` counts them, the
        key included); identical rows are in none of the three.
        """
        at = {i: j for j, i in enumerate(stored["i"])}
        columns = [(params[c], stored[c]) for c in (q.PROPS, *self.rt.rel_columns)]
        starts, ends = params[q.START_KEY], params[q.END_KEY]
        new, changed, other = [], [], []
        for i in range(len(starts)):
            j = at.get(i)
            if j is None:
                new.append(i)
            elif stored[q.START_KEY][j] != starts[i] or stored[q.END_KEY][j] != ends[i]:
                other.append(i)
            elif any(mine[i] != theirs[j] for mine, theirs in columns):
                changed.append((i, j))
        return new, changed, other


def _rows(params: dict[str, Any], rows: list[int]) -> dict[str, Any]:
    """The parameters of some rows of a batch (every list cut to them)."""
    return {k: [v[i] for i in rows] for k, v in params.items()}


def _changed(run: Run, query: str, params: dict[str, Any]) -> int:
    [record] = run(Statement(query, params))
    return int(record["changed"])
