"""Shared state of one feature build: the store, the date, and integer ids for every code.

Each family reads what it needs through the context, which caches store reads and
the things several families share (node ids, holdings per node), so a table is
read and a code column is mapped to integers once per build. Families ask for ids
by table and column (`ids`, `node_ids_of`, `codes`), never by decoding text
themselves: `features.history.DatedContext` answers the same questions for many
dates from one read of the store, with the same answers.

Two id spaces:
- *company ids* 0..n-1, the rows of the output (every company known at `as_of`);
- *node ids*: the company ids followed by every counterparty code that appears in
  `supply_links` or as an investee in `investments` but is not a known company,
  sorted, so the numbering depends only on the facts known at `as_of`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from features.status import HOLD_GROUPS, holding_rows
from graph.contract import TIERS
from graph.store import Store, rows_where


def days_between(later: pd.Timestamp, earlier: pd.Series) -> np.ndarray:
    """Days from each `earlier` date to `later`, float with NaN for missing dates."""
    delta = (later - earlier).dt.days
    return delta.to_numpy(dtype="float64", na_value=np.nan)


YEAR_DAYS = 365.25


class TablesAt:
    """The store's tables as known at `as_of`, each read once when first needed.

    The one per-date read cache: a feature build, the reasons of a list and a
    company's page at the same date share it. Frames are shared, never modified.
    """

    def __init__(self, store: Store, as_of: date) -> None:
        self.store = store
        self.as_of = as_of
        self.cut = pd.Timestamp(as_of)
        self._frames: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            with self._lock:
                frame = self._frames.get(name)
                if frame is None:
                    frame = self._frames[name] = self._read(name)
        return frame

    def _read(self, name: str) -> pd.DataFrame:
        return self.store.read(name, self.as_of)

    def rows(self, name: str, column: str, values: Iterable[str]) -> pd.DataFrame:
        """The rows of table `name` whose text `column` is one of `values`: cut from the
        table when it is held already, else read alone (`Store.read_where`, not kept)."""
        frame = self._frames.get(name)
        if frame is not None:
            return rows_where(frame, column, values)
        return self.store.read_where(name, column, values, self.as_of)


class Context:
    def __init__(self, store: Store, as_of: date, tables: TablesAt | None = None) -> None:
        if tables is not None and (tables.store is not store or tables.as_of != as_of):
            raise ValueError("the tables must be read from the same store at the same date")
        self.store = store
        self.as_of = as_of
        self.cut = pd.Timestamp(as_of)
        self.tables = tables or TablesAt(store, as_of)
        #: results shared between families (e.g. the supply adjacency), keyed by name
        self.shared: dict[str, Any] = {}
        #: results that depend on no date (see `memo`)
        self._memo: dict[Any, Any] = {}
        #: ids and codes per (kind, table, column), see `ids`
        self._ids: dict[tuple[str, str, str], Any] = {}

    # -- reads ----------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """A contract table as known at `as_of` (read once per build)."""
        return self.tables(name)

    @cached_property
    def companies(self) -> pd.DataFrame:
        return self.table("companies")

    @property
    def n(self) -> int:
        return len(self.companies)

    @cached_property
    def company_index(self) -> pd.Index:
        return pd.Index(self.companies["uscc"].to_numpy(dtype=object), dtype="str")

    def company_ids(self, codes: pd.Series) -> np.ndarray:
        """Company id per code, -1 for codes that are not known companies."""
        return _lookup(self.company_index, codes)

    def ids(self, table: str, column: str) -> np.ndarray:
        """Company id per row of `table(table)[column]` (-1: not a known company); cached."""
        key = ("ids", table, column)
        if key not in self._ids:
            self._ids[key] = self.company_ids(self.table(table)[column])
        return self._ids[key]

    def node_ids_of(self, table: str, column: str) -> np.ndarray:
        """Node id per row of `table(table)[column]` (-1: not a node); cached."""
        key = ("node_ids", table, column)
        if key not in self._ids:
            self._ids[key] = self.node_ids(self.table(table)[column])
        return self._ids[key]

    def codes(self, table: str, column: str) -> tuple[np.ndarray, pd.Index]:
        """Integer codes of a text column (-1 for missing) and the values they stand for.

        `uniques` is in no particular order and may hold values that no row at `as_of`
        has: a caller that needs the present values, or their sorted order, finds them
        from the codes (see `present_sorted`).
        """
        key = ("codes", table, column)
        if key not in self._ids:
            codes, uniques = pd.factorize(self.table(table)[column])
            self._ids[key] = (codes.astype(np.int64), pd.Index(uniques, dtype="str"))
        return self._ids[key]

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, kept under `key` for as long as the facts behind it stay the same.

        For results that depend on no date (random vectors keyed by a code): a build at
        one date computes them once, a build over many dates once for all of them.
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- the node universe ----------------------------------------------------------------
    @cached_property
    def node_index(self) -> pd.Index:
        links = self.table("supply_links")
        invest = self.table("investments")
        others = pd.concat(
            [links["supplier_uscc"], links["customer_uscc"], invest["investee_uscc"]],
            ignore_index=True,
        )
        uniques = pd.Index(pd.unique(others.dropna()), dtype="str")
        extra = uniques[self.company_index.get_indexer(uniques) < 0].sort_values()
        return self.company_index.append(extra)

    @property
    def n_nodes(self) -> int:
        return len(self.node_index)

    @property
    def node_keys(self) -> tuple[np.ndarray, pd.Index]:
        """Per node, its position in `keys`, and `keys`: the codes of the nodes (and maybe
        more), for results that depend on a node's code alone (see `memo`)."""
        return np.arange(self.n_nodes, dtype=np.int64), self.node_index

    def node_ids(self, codes: pd.Series) -> np.ndarray:
        """Node id per code (every supply-link party and investee has one)."""
        return _lookup(self.node_index, codes)

    @property
    def supply_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """(supplier, customer) node ids of every supply-link row known at `as_of`."""
        return (
            self.node_ids_of("supply_links", "supplier_uscc"),
            self.node_ids_of("supply_links", "customer_uscc"),
        )

    @property
    def investee_nodes(self) -> np.ndarray:
        return self.node_ids_of("investments", "investee_uscc")

    def as_company(self, node_ids: np.ndarray) -> np.ndarray:
        """Node ids turned into company ids (-1 for counterparties of unknown profile)."""
        return np.where(node_ids < self.n, node_ids, -1)

    def prepare_graph(self) -> None:
        """Compute the shared node ids and holdings up front (for timing them apart)."""
        _ = self.n_nodes, self.supply_nodes, self.investee_nodes, self.node_holds

    @cached_property
    def node_holds_by_tier(self) -> dict[str, np.ndarray]:
        """Per tier, a bool per node: holds the tier at `as_of` (`status.holding_rows`)."""
        tier_pos, holding = holding_rows(self.table("certifications"), self.as_of)
        ids = self.node_ids_of("certifications", "uscc")
        on = holding & (ids >= 0)
        out = {}
        for i, tier in enumerate(TIERS):
            flag = np.zeros(self.n_nodes, dtype=bool)
            flag[ids[on & (tier_pos == i)]] = True
            out[tier] = flag
        return out

    @cached_property
    def node_holds(self) -> dict[str, np.ndarray]:
        """Per holding group (see `HOLD_GROUPS`), a bool per node: holds any of its tiers."""
        by_tier = self.node_holds_by_tier
        return {
            group: np.logical_or.reduce([by_tier[t] for t in tiers])
            for group, tiers in HOLD_GROUPS.items()
        }


def present_sorted(codes: np.ndarray, uniques: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """The codes that occur in `codes` in the sorted order of their values, and for
    each code its position in that order (-1 for codes that do not occur)."""
    present = np.unique(codes[codes >= 0])
    order = present[np.argsort(uniques[present].to_numpy(dtype=object), kind="stable")]
    rank = np.full(len(uniques), -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    return order, rank


def _lookup(index: pd.Index, codes: pd.Series) -> np.ndarray:
    """Positions of `codes` in `index` (-1 when absent).

    Link tables repeat each code many times, so the codes are factorized first and
    only the distinct values are looked up in the index: one hash pass over the long
    column instead of a probe of the big index per row.
    """
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    local, uniques = pd.factorize(codes, use_na_sentinel=True)
    found = index.get_indexer(pd.Index(uniques, dtype="str"))
    found = np.append(found, -1)  # the NA sentinel -1 indexes this last slot
    return found[local].astype(np.int64)
