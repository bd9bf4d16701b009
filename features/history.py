"""The feature tables of many dates from one read of the store.

Training builds the feature table at several decision dates and ranking at one more.
A `History` reads every table once, as known at the latest of them, and codes its
text once: every credit code becomes an integer in one sorted universe of codes, every
other text column a categorical. A table at an earlier date is then
`graph.store.known_at` applied in memory to those frames — the same rule the stores
apply, and reading a table at a later date and then at an earlier one gives what a
read at the earlier date gives (rows known later drop out, dates and outcomes decided
later are blanked again). A `DatedContext` answers the families' questions (ids per
row, node ids, sorted codes) from the integer codes, so no date decodes text again,
and keeps what depends on no date (random vectors keyed by a code) for every date.

    history = History(store, date(2025, 12, 31))
    ctx = DatedContext(history, date(2023, 12, 31))  # as `Context(store, date(2023, 12, 31))`
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import history_files
from features.context import Context, TablesAt
from features.memory import release_memory
from graph.contract import TABLES, Table
from graph.store import Store, known_at

#: tables read and coded at once (`_coded_tables`)
READ_THREADS = 2


class History:
    """Every contract table as known at `latest` (None: every row the store holds), its
    text coded once (see the module). Tables at a date are cut from it in memory."""

    def __init__(
        self, store: Store, latest: date | None = None, keep_in: Path | None = None
    ) -> None:
        self.store = store
        self.latest = latest
        #: a folder where the coded tables are kept for the next process, and found
        #: again (`features.history_files`; its caller keys it on the store and code)
        self.keep_in = keep_in
        #: results that depend on no date, shared by every date's context (`Context.memo`)
        self.memo: dict[Any, Any] = {}
        self._coded: tuple[dict[str, pd.DataFrame], pd.Index] | None = None

    def load(self) -> History:
        """Read and code the tables now (otherwise on first use)."""
        self._tables()
        return self

    def _tables(self) -> tuple[dict[str, pd.DataFrame], pd.Index]:
        if self._coded is None:
            found = history_files.find(self.keep_in, self.latest) if self.keep_in else None
            if found is None:
                self._coded = _coded_tables(self.store, self.latest)
                if self.keep_in:
                    history_files.write(self.keep_in, self.latest, self._coded)
            else:  # a copy made at a later date (or of every row) answers this one's dates
                self._coded, self.latest = found
        return self._coded

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table, coded, as known at `latest`."""
        return self._tables()[0]

    @property
    def universe(self) -> pd.Index:
        """Every credit code of every table, sorted: the categories of the code columns."""
        return self._tables()[1]

    def holds_rows(self, name: str, as_of: date) -> bool:
        """Whether table `name` holds some row known at `as_of` (without cutting it)."""
        frame = self.frames[name]
        return bool((frame[TABLES[name].known_on] <= pd.Timestamp(as_of)).any())

    def at(self, name: str, as_of: date) -> pd.DataFrame:
        """Table `name` as known at `as_of` (not after `latest`), text as categoricals."""
        if self.latest is not None and as_of > self.latest:
            raise ValueError(f"a history read at {self.latest} cannot answer for {as_of}")
        return known_at(TABLES[name], self.frames[name], as_of)


def _coded_tables(store: Store, latest: date | None) -> tuple[dict[str, pd.DataFrame], pd.Index]:
    """Each table at `latest` with credit codes coded into one sorted universe and the
    other text columns as categoricals (their categories in no particular order).

    Each long column is hashed once: its distinct values are found first, and only
    those are looked up in the universe. Tables are read and hashed `READ_THREADS` at a
    time (Arrow's reads and hashes let Python's lock go); the result does not depend on
    the order they finish in.
    """
    with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="history") as pool:
        read = list(pool.map(lambda item: _read_coded(store, latest, *item), TABLES.items()))
    columns = {name: cols for name, (cols, _) in zip(TABLES, read, strict=True)}
    credit = [entry for _, entries in read for entry in entries]
    del read
    universe, at = sorted_distinct([u for *_, u in credit])
    dtype = pd.CategoricalDtype(universe)  # its categories checked once, not per column
    for (name, column, codes, _), where in zip(credit, at, strict=True):
        # codes into the column's distinct values turned into codes into the universe
        recoded = np.append(where, -1)[codes]  # the -1 code (missing) reads the last slot
        columns[name][column] = pd.Categorical.from_codes(recoded, dtype=dtype)
    # not copied: the numbers and dates are the store's own arrays (reads never modify
    # them), and the text is held as codes
    frames = {
        name: pd.DataFrame({c: columns[name][c] for c in table.column_names}, copy=False)
        for name, table in TABLES.items()
    }
    release_memory()  # the text read and hashed once, let go
    return frames, universe


def _read_coded(
    store: Store, latest: date | None, name: str, table: Table
) -> tuple[dict[str, Any], list[tuple[str, str, np.ndarray, pd.Index]]]:
    """One table at `latest`: its columns (text other than credit codes as categoricals)
    and, per credit-code column, (table, column, codes, distinct codes) to code later."""
    raw = store.read_once(name, latest)  # the store's own point-in-time read, once
    cols: dict[str, Any] = {}
    credit: list[tuple[str, str, np.ndarray, pd.Index]] = []
    for col in table.columns:
        values = raw[col.name]
        if col.kind == "uscc":
            codes, uniques = pd.factorize(values)
            credit.append((name, col.name, codes, pd.Index(uniques, dtype="str")))
        elif col.kind in ("str", "enum"):
            codes, uniques = pd.factorize(values)
            categories = pd.Index(uniques, dtype="str")
            if col.values:  # every value of an enum is a category, so `known_at`
                # may write "pending" (free text is not looked up: a long column's
                # hash table would live as long as its categories)
                extra = pd.Index(col.values, dtype="str").difference(categories)
                categories = categories.append(extra) if len(extra) else categories
            cols[col.name] = pd.Categorical.from_codes(codes, categories=categories)
        else:  # numbers, dates and flags keep the store's dtypes and arrays
            cols[col.name] = values
    return cols, credit


def sorted_distinct(texts: list[pd.Index]) -> tuple[pd.Index, list[np.ndarray]]:
    """Every value of `texts` once, sorted, and each text's positions in it: one Arrow
    hash of all of them (UTF-8 byte order is code point order, as Python sorts text),
    whatever the chunks behind each index."""
    chunks: list[pa.Array] = []
    for text in texts:
        array = pa.array(text, type=pa.large_string(), from_pandas=True)
        chunks.extend(array.chunks if isinstance(array, pa.ChunkedArray) else [array])
    every = pa.chunked_array(chunks, type=pa.large_string()).combine_chunks()
    encoded = pc.dictionary_encode(every)
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    where = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    universe = pd.Index(encoded.dictionary.take(order).to_pandas(), dtype="str")
    ends = np.cumsum([len(t) for t in texts])
    return universe, [where[end - len(t) : end] for t, end in zip(texts, ends, strict=True)]


class DatedTables(TablesAt):
    """The tables at `as_of`, cut from a `History` instead of read from the store."""

    def __init__(self, history: History, as_of: date) -> None:
        super().__init__(history.store, as_of)
        self.history = history

    def _read(self, name: str) -> pd.DataFrame:
        return self.history.at(name, self.as_of)


class DatedContext(Context):
    """A `Context` at `as_of` over a `History`: the same answers, from integer codes."""

    def __init__(self, history: History, as_of: date) -> None:
        super().__init__(history.store, as_of, DatedTables(history, as_of))
        self.history = history
        self._memo = history.memo

    @cached_property
    def _company_at(self) -> np.ndarray:
        """Universe code -> company id (-1 if not a company at `as_of`); the last slot
        answers the code -1 of a missing value."""
        at = np.full(len(self.history.universe) + 1, -1, dtype=np.int64)
        at[self._codes_of(self.companies["uscc"])] = np.arange(self.n)
        return at

    @cached_property
    def _node_codes(self) -> np.ndarray:
        """The universe code of every node, in node order: the companies, then the other
        supply-link parties and investees in code order (as `Context.node_index`)."""
        links = self.table("supply_links")
        invest = self.table("investments")
        others = np.concatenate(
            [
                self._codes_of(links["supplier_uscc"]),
                self._codes_of(links["customer_uscc"]),
                self._codes_of(invest["investee_uscc"]),
            ]
        )
        company = self._codes_of(self.companies["uscc"])
        flag = np.zeros(len(self.history.universe), dtype=bool)
        flag[others[others >= 0]] = True
        flag[company] = False
        return np.concatenate([company, np.flatnonzero(flag)])

    @cached_property
    def _node_at(self) -> np.ndarray:
        at = np.full(len(self.history.universe) + 1, -1, dtype=np.int64)
        at[self._node_codes] = np.arange(len(self._node_codes))
        return at

    @staticmethod
    def _codes_of(values: pd.Series) -> np.ndarray:
        return values.cat.codes.to_numpy(dtype=np.int64)

    def ids(self, table: str, column: str) -> np.ndarray:
        key = ("ids", table, column)
        if key not in self._ids:
            self._ids[key] = self._company_at[self._codes_of(self.table(table)[column])]
        return self._ids[key]

    def node_ids_of(self, table: str, column: str) -> np.ndarray:
        key = ("node_ids", table, column)
        if key not in self._ids:
            self._ids[key] = self._node_at[self._codes_of(self.table(table)[column])]
        return self._ids[key]

    def codes(self, table: str, column: str) -> tuple[np.ndarray, pd.Index]:
        values = self.table(table)[column]
        return self._codes_of(values), values.cat.categories

    @cached_property
    def node_index(self) -> pd.Index:
        return pd.Index(self.history.universe[self._node_codes], dtype="str")

    @property
    def n_nodes(self) -> int:
        return len(self._node_codes)

    @property
    def node_keys(self) -> tuple[np.ndarray, pd.Index]:
        return self._node_codes, self.history.universe
