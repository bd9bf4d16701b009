"""Equity investment: who backs a company, and how good its investors are at picking.

An investor's track record is the share of its *other* portfolio companies that hold a
tier at `as_of` (leave-one-out): the company's own certification is removed from
each of its investors' records, so it never leaks into its own features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import as_float, codes_of, count_by, distinct_count_by, last_by
from features.context import YEAR_DAYS, Context
from graph.contract import ROUNDS

PREFIX = "equity_"
#: investor types whose paid-in money counts as qualified financing (合格机构投资者)
QUALIFIED = ("vc", "pe", "gov_fund")
FINANCING_YEARS = 2


def compute(ctx: Context) -> pd.DataFrame:
    inv = ctx.table("investments")
    n = ctx.n
    node = ctx.investee_nodes
    ids = ctx.as_company(node)
    investor = codes_of(inv["investor_id"])
    kind = inv["investor_type"].astype("str")
    days = (ctx.cut - inv["invested_on"]).dt.days.to_numpy(dtype="float64")

    out: dict[str, object] = {}
    out["investors"] = distinct_count_by(ids, investor, n)
    out["rounds"] = distinct_count_by(ids, -days.astype(np.int64), n)
    amount = as_float(inv["amount_wan"])
    keep = (ids >= 0) & ~np.isnan(amount)
    out["amount_wan"] = np.bincount(ids[keep], weights=amount[keep], minlength=n)
    # new equity financing from qualified institutions (VC, PE, government guidance funds)
    # in the two years before as_of: the standards' alternative to a revenue floor
    recent = keep & (days < FINANCING_YEARS * YEAR_DAYS) & kind.isin(QUALIFIED).to_numpy(dtype=bool)
    out["financing_2y_wan"] = np.bincount(ids[recent], weights=amount[recent], minlength=n)
    out["gov_funds"] = distinct_count_by(
        ids, investor, n, (kind == "gov_fund").to_numpy(dtype=bool)
    )
    out["corporate_investors"] = distinct_count_by(
        ids, investor, n, (kind == "corporate").to_numpy(dtype=bool)
    )
    out["vc_pe_investors"] = distinct_count_by(
        ids, investor, n, kind.isin(["vc", "pe"]).to_numpy(dtype=bool)
    )
    # latest round: most recent investment with a stated round; same-day ties go to the later stage
    stage = pd.Index(ROUNDS).get_indexer(inv["round"].astype("str"))
    with_round = np.where(stage >= 0, ids, -1)
    last = last_by(with_round, -days * 16 + stage, n)
    latest_stage = np.full(n, -1, dtype=np.int64)
    latest_stage[last >= 0] = stage[last[last >= 0]]
    out["latest_stage"] = pd.Categorical.from_codes(latest_stage, categories=list(ROUNDS))
    newest = last_by(ids, -days, n)
    since = np.full(n, np.nan)
    since[newest >= 0] = days[newest[newest >= 0]] / YEAR_DAYS
    out["years_since_investment"] = since

    # -- investor track record, leave-one-out ------------------------------------------
    # distinct (investor, portfolio node) pairs; portfolio counts every investee node,
    # including counterparties of unknown profile (they can hold tiers too)
    pairs = pd.DataFrame({"inv": investor, "node": node}).drop_duplicates(ignore_index=True)
    p_inv = pairs["inv"].to_numpy()
    p_node = pairs["node"].to_numpy()
    n_inv = int(investor.max()) + 1 if len(investor) else 0
    portfolio = np.bincount(p_inv, minlength=n_inv).astype("float64")
    others = portfolio[p_inv] - 1.0
    p_comp = ctx.as_company(p_node)
    out["investor_portfolio_max"] = _agg_max(p_comp, portfolio[p_inv], n, empty=0.0)
    for group, holds in ctx.node_holds.items():
        h = holds[p_node].astype("float64")
        held_by_inv = np.bincount(p_inv, weights=h, minlength=n_inv)
        with np.errstate(divide="ignore", invalid="ignore"):
            loo = (held_by_inv[p_inv] - h) / others  # NaN when the investor has no other company
        out[f"investor_{group}_share_max"] = _agg_max(p_comp, loo, n, empty=np.nan)
        out[f"investor_{group}_share_mean"] = _agg_mean(p_comp, loo, n)
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})


def _agg_max(ids: np.ndarray, values: np.ndarray, n: int, empty: float) -> np.ndarray:
    """Max of the non-NaN values per id; `empty` where an id has none."""
    ok = (ids >= 0) & ~np.isnan(values)
    out = np.full(n, -np.inf)
    np.maximum.at(out, ids[ok], values[ok])
    out[np.isneginf(out)] = empty
    return out


def _agg_mean(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    ok = (ids >= 0) & ~np.isnan(values)
    total = np.bincount(ids[ok], weights=values[ok], minlength=n)
    cnt = count_by(ids, n, ok)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, total / cnt, np.nan)
