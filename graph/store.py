"""The store interface, and what every store shares: point-in-time reads and upserts.

Two implementations follow it: `EmbeddedStore` (in-process, the default) and
`Neo4jStore` (the knowledge graph of record). One conformance suite runs against
both, so they cannot drift.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from graph.contract import TABLES, Table
from graph.digest import frame_fingerprint
from graph.errors import UsageError
from graph.text_sets import isin
from graph.validation import Batch, conform, sort_by_key

Progress = Callable[[str, int, int], None]


@dataclass
class LoadResult:
    """What a load did: rows per table before and after, and whether anything changed."""

    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    changed: bool = False
    version: str | None = None


def table_of(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise UsageError(
            f"There is no table '{name}'; the tables are: {', '.join(TABLES)}."
        ) from None


def known_at(table: Table, frame: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """The rows of `frame` known at `as_of`, as they stood then.

    A row is known when its `known_on` date is on or before `as_of`. Later
    changes to a known row (an end, a grant, a revocation, a decision) are blanked,
    and an outcome decided after `as_of` reads `pending`. `as_of=None` returns all.
    """
    if as_of is None:
        return frame.reset_index(drop=True)
    cut = pd.Timestamp(as_of)
    known = (frame[table.known_on] <= cut).to_numpy()
    # every row known (a read at the latest date): no copy of the rows is needed
    out = frame.reset_index(drop=True) if known.all() else frame.loc[known].reset_index(drop=True)
    if table.pending_outcome:
        outcome, decided = table.pending_outcome
        out[outcome] = out[outcome].mask((out[decided] > cut).fillna(False), "pending")
    for col in table.later_dates:
        out[col] = out[col].mask((out[col] > cut).fillna(False))
    return out


def active_at(frame: pd.DataFrame, end_column: str, as_of: date) -> np.ndarray:
    """Per row, whether it is still active at `as_of`: its `end_column` is blank or after `as_of`.

    The one rule for a supply link, a person's tenure, an open compliance listing, an
    unrevoked certification, a patent not lapsed. It gives the same answer for a raw
    table and for a `known_at` read (which blanks an end after `as_of`), so a caller
    need not know which it holds. An end on `as_of` itself has ended. Whether the row
    had begun by `as_of` is not checked here: `known_at` drops rows not yet known.
    """
    end = frame[end_column]
    return (end.isna() | (end > pd.Timestamp(as_of))).to_numpy(dtype=bool)


def rows_where(frame: pd.DataFrame, column: str, values: Iterable[str]) -> pd.DataFrame:
    """The rows of `frame` whose text `column` is one of `values`, in order, numbered anew."""
    return frame.loc[isin(frame[column], values)].reset_index(drop=True)


def upsert(table: Table, stored: pd.DataFrame | None, incoming: pd.DataFrame) -> pd.DataFrame:
    """Stored rows updated by incoming ones on the natural key (incoming wins), sorted by key.

    Incoming rows come from validation, already conformed and sorted by key (`TableBatch`).
    """
    if stored is None or stored.empty:
        return incoming
    merged = pd.concat([stored, incoming], ignore_index=True)
    merged = merged.drop_duplicates(list(table.key), keep="last")
    return sort_by_key(table, conform(table, merged))


class Store(ABC):
    """What the layers above may ask of a store. Every read takes `as_of`."""

    kind: str

    @abstractmethod
    def load(self, batch: Batch, progress: Progress | None = None) -> LoadResult:
        """Upsert a validated batch on natural keys; all or nothing, idempotent."""

    @abstractmethod
    def read(self, table: str, as_of: date | None = None) -> pd.DataFrame:
        """One contract table as known at `as_of`, canonical dtypes, sorted by its key."""

    def read_where(
        self, table: str, column: str, values: Iterable[str], as_of: date | None = None
    ) -> pd.DataFrame:
        """The rows of `read(table, as_of)` whose text `column` is one of `values`, in the
        same order (a few companies' facts: a list's reasons, a company's page).

        A store may read only those rows; this default filters the whole read.
        """
        return rows_where(self.read(table, as_of), column, values)

    def read_once(self, table: str, as_of: date | None = None) -> pd.DataFrame:
        """As `read`, for a caller that keeps what it needs of the table itself (a
        feature history): a store that keeps tables in memory does not keep this one."""
        return self.read(table, as_of)

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Rows held per contract table (every table, zero when empty)."""

    def fingerprint(self) -> str:
        """A short digest of everything held, for model cards and cache keys."""
        digest = hashlib.sha256()
        for name in TABLES:
            digest.update(name.encode())
            digest.update(frame_fingerprint(self.read(name)).encode())
        return digest.hexdigest()[:16]

    def version(self) -> str:
        """A cheap token that changes whenever this store's content does (for cache keys).

        A load that changes nothing keeps it. Tokens compare only within one store.
        This default is the fingerprint, which reads every table; the stores override it
        with a token they keep anyway.
        """
        return self.fingerprint()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "tables": self.counts()}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the embedded store holds none."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
