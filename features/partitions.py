"""A `History` split into partitions of companies, each with the rows its codes own.

The unit of distributed work (`features.engine`): partition k holds a contiguous range
of the history's companies and every row of every table whose credit code is one of
theirs (a supply link belongs to the partitions of both of its parties). Codes that
are no company's (counterparties of unknown profile) are shared out in ranges too, so
every row has an owner. Company ids at any date follow the rows of the companies
table, so the companies of partition 0, then 1, ... at a date are the companies of
the whole history at that date, in the same order: the feature table of the whole is
the partitions' tables one after the other.

A partition is itself a `History` (its credit codes coded into its own sorted
universe, the other text columns keeping the whole's categories), so a
`DatedContext` over it applies the point-in-time rule of `graph.store` and answers
the families exactly as over the whole, for every company it owns. What the
families compute across companies is put right by `features.engine`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from features import registry
from features.equity import _agg_max, _agg_mean
from features.history import DatedContext, History
from graph.contract import TABLES
from graph.store import Store

#: families whose every column of a company depends only on that company's own rows
#: (equity's investor track record excepted: see `investor_counts`, `track_record`)
OWN_ROWS = ("profile", "financial", "ip", "awards", "talent", "equity", "standards")
#: equity's columns that look at the investors' other portfolio companies
TRACK_RECORD = "investor_"


class PartHistory(History):
    """The coded tables of one partition: a `History` with no store behind it."""

    def __init__(self, frames: dict[str, pd.DataFrame], universe: pd.Index, latest: date | None):
        # no store: every table is already here, coded (see `iter_split_history`)
        super().__init__(cast(Store, None), latest)
        self._coded = (frames, universe)


def iter_split_history(history: History, parts: int) -> Iterator[PartHistory]:
    """`history` as `parts` partitions of contiguous companies (see the module), one at
    a time: a caller that sends each away before asking for the next never holds more
    than one beside the whole."""
    frames, universe = history.frames, history.universe
    companies = frames["companies"]["uscc"].cat.codes.to_numpy(dtype=np.int64)
    bounds = np.linspace(0, len(companies), parts + 1).astype(np.int64)
    owner = np.full(len(universe) + 1, -1, dtype=np.int64)  # the last slot answers code -1
    for k in range(parts):
        owner[companies[bounds[k] : bounds[k + 1]]] = k
    rest = np.flatnonzero(owner[:-1] < 0)
    owner[rest] = np.arange(len(rest)) * parts // max(len(rest), 1)
    owner[-1] = -1
    rows: dict[str, list[np.ndarray]] = {}
    for name, table in TABLES.items():
        frame = frames[name]
        owners = [
            owner[frame[c.name].cat.codes.to_numpy(dtype=np.int64)]
            for c in table.columns
            if c.kind == "uscc"
        ]
        rows[name] = _rows_by_part(owners, len(frame), parts)
    for k in range(parts):
        part = {name: frames[name].iloc[rows[name][k]].reset_index(drop=True) for name in TABLES}
        yield PartHistory(*_local_codes(part, universe), history.latest)


def _rows_by_part(owners: list[np.ndarray], n_rows: int, parts: int) -> list[np.ndarray]:
    """Per partition, in their order, the rows that any of `owners` (a partition per row
    and code column) gives it: one sort, whatever the number of partitions."""
    size = max(n_rows, 1)
    part = np.concatenate(owners)
    row = np.tile(np.arange(n_rows, dtype=np.int64), len(owners))
    keep = part >= 0
    part_of, row_of = np.divmod(sorted_unique(part[keep] * size + row[keep]), size)
    cut = np.searchsorted(part_of, np.arange(parts + 1))
    return [row_of[cut[k] : cut[k + 1]] for k in range(parts)]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct integers, sorted: one sort (`np.unique` hashes first, far slower here)."""
    values = np.sort(values)
    return values[np.append(True, values[1:] != values[:-1])] if len(values) else values


def _local_codes(
    frames: dict[str, pd.DataFrame], universe: pd.Index
) -> tuple[dict[str, pd.DataFrame], pd.Index]:
    """The credit-code columns re-coded into the sorted codes this partition uses."""
    columns = [
        (name, c.name) for name, table in TABLES.items() for c in table.columns if c.kind == "uscc"
    ]
    codes = {key: frames[key[0]][key[1]].cat.codes.to_numpy(dtype=np.int64) for key in columns}
    used = sorted_unique(np.concatenate([c[c >= 0] for c in codes.values()]))
    local = universe[used]  # sorted, as the whole universe is
    out = {name: frame.copy() for name, frame in frames.items()}
    for (name, column), code in codes.items():
        recoded = np.where(code >= 0, np.searchsorted(used, code), -1)
        out[name][column] = pd.Categorical.from_codes(recoded, categories=local)
    return out, local


# -- on a worker: one partition at one date ---------------------------------------------
@dataclass
class PartAt:
    """A partition's families at a date and its (investor, investee) pairs, kept on the
    workers between the steps of one date. It holds no reference to the partition, so a
    worker short of memory can spill partitions while their dates' results stay."""

    as_of: date
    n: int  # the partition's companies at `as_of`
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: per distinct (investor, investee) pair: the investor (the whole's codes), the
    #: investee's company id (-1: a counterparty of unknown profile), and a 0/1 column
    #: per group of tiers (`Context.node_holds`) that the investee holds
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    groups: tuple[str, ...] = ()


def own_rows_at(part: History, as_of: date, names: list[str]) -> PartAt:
    """The families `names` (all in `OWN_ROWS`) for the partition's companies at `as_of`."""
    ctx = DatedContext(part, as_of)
    done = PartAt(as_of, ctx.n, {name: registry.family(name).compute(ctx) for name in names})
    if "equity" in names:
        inv = ctx.table("investments")
        investor = inv["investor_id"].cat.codes.to_numpy(dtype=np.int64)  # the whole's codes
        # a pair's investee is owned by this partition alone, so no pair is counted twice
        pairs = pd.DataFrame({"inv": investor, "node": ctx.investee_nodes}).drop_duplicates(
            ignore_index=True
        )
        node = pairs["node"].to_numpy()
        holds = {g: h[node].astype("float64") for g, h in ctx.node_holds.items()}
        done.pairs = pd.DataFrame(
            {"inv": pairs["inv"].to_numpy(), "company": ctx.as_company(node), **holds}
        )
        done.groups = tuple(holds)
    return done


def investor_counts(at: PartAt, investors: int) -> dict[str, np.ndarray]:
    """Per investor (the whole's codes): portfolio companies in this partition, and how
    many of them hold each group of tiers; summed over partitions, the whole's counts."""
    p_inv = at.pairs["inv"].to_numpy()
    out = {"portfolio": np.bincount(p_inv, minlength=investors).astype("float64")}
    for group in at.groups:
        out[group] = np.bincount(p_inv, weights=at.pairs[group].to_numpy(), minlength=investors)
    return out


def track_record(at: PartAt, counts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Equity's investor columns from the whole's investor counts (as `features.equity`:
    leave-one-out shares of each investor's other portfolio companies)."""
    n = at.n
    p_inv = at.pairs["inv"].to_numpy()
    p_comp = at.pairs["company"].to_numpy()
    portfolio = counts["portfolio"]
    others = portfolio[p_inv] - 1.0
    out: dict[str, np.ndarray] = {}
    out["investor_portfolio_max"] = _agg_max(p_comp, portfolio[p_inv], n, empty=0.0)
    for group in at.groups:
        h = at.pairs[group].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            loo = (counts[group][p_inv] - h) / others
        out[f"investor_{group}_share_max"] = _agg_max(p_comp, loo, n, empty=np.nan)
        out[f"investor_{group}_share_mean"] = _agg_mean(p_comp, loo, n)
    frame = at.frames["equity"].copy()
    for name, values in out.items():
        frame["equity_" + name] = values
    return frame


def frames_of(at: PartAt) -> dict[str, pd.DataFrame]:
    return at.frames


# -- on the client: the partitions' tables as one -----------------------------------------
def concat_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' columns one after the other; a categorical whose partitions know
    different values gets their sorted union as categories (as a build of the whole)."""
    kept = [p for p in parts if len(p)] or parts[:1]
    columns: dict[str, Any] = {}
    for column in kept[0].columns:
        pieces = [p[column] for p in kept]
        dtype = pieces[0].dtype
        if isinstance(dtype, pd.CategoricalDtype) and any(p.dtype != dtype for p in pieces[1:]):
            columns[column] = union_categoricals(
                [pd.Categorical(p) for p in pieces], sort_categories=True
            )
        else:
            columns[column] = pd.concat(pieces, ignore_index=True)
    return pd.DataFrame(columns)
