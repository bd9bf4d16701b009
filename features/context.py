"""Shared state of one feature build: the store, the date, and integer ids for every code.

Each family reads what it needs through the context, which caches store reads and
the things several families share (node ids, holdings per node), so a table is
read and a code column is mapped to integers once per build.

Two id spaces:
- *company ids* 0..n-1, the rows of the output (every company known at `as_of`);
- *node ids*: the company ids followed by every counterparty code that appears in
  `supply_links` or as an investee in `investments` but is not a known company,
  sorted, so the numbering depends only on the facts known at `as_of`.
"""

from __future__ import annotations

import threading
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from features.status import HOLD_GROUPS, holds_at
from graph.contract import TIERS
from graph.store import Store


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
                    frame = self._frames[name] = self.store.read(name, self.as_of)
        return frame


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

    def node_ids(self, codes: pd.Series) -> np.ndarray:
        """Node id per code (every supply-link party and investee has one)."""
        return _lookup(self.node_index, codes)

    @cached_property
    def supply_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """(supplier, customer) node ids of every supply-link row known at `as_of`."""
        links = self.table("supply_links")
        return self.node_ids(links["supplier_uscc"]), self.node_ids(links["customer_uscc"])

    @cached_property
    def investee_nodes(self) -> np.ndarray:
        return self.node_ids(self.table("investments")["investee_uscc"])

    def as_company(self, node_ids: np.ndarray) -> np.ndarray:
        """Node ids turned into company ids (-1 for counterparties of unknown profile)."""
        return np.where(node_ids < self.n, node_ids, -1)

    def prepare_graph(self) -> None:
        """Compute the shared node ids and holdings up front (for timing them apart)."""
        _ = self.node_index, self.supply_nodes, self.investee_nodes, self.node_holds

    @cached_property
    def node_holds_by_tier(self) -> dict[str, np.ndarray]:
        """Per tier, a bool per node: holds the tier at `as_of`."""
        held = holds_at(self.table("certifications"), self.as_of)
        ids = _lookup(self.node_index, pd.Series(held.index, dtype="str"))
        keep = ids >= 0
        out = {}
        for tier in TIERS:
            flag = np.zeros(self.n_nodes, dtype=bool)
            flag[ids[keep]] = held[tier].to_numpy(dtype=bool)[keep]
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
