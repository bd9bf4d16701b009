"""Financial: the latest fiscal year known at `as_of` (by `reported_on`) and its trends.

Besides the latest year, the ratios that describe how a company works (R&D intensity,
margin, R&D staff share) are also averaged over every known year, and revenue growth
is also taken over the whole known span: one year's figures are noisy, the habit of
several years is not.

A fiscal year counts only once reported, so a model trained at a past date sees
last year's accounts only if they had been filed by then. Every measure is NaN
when the figures are not known (no financials, or the needed year missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import as_float, count_by, last_by, mean_by, ratio, take
from features.context import YEAR_DAYS, Context

PREFIX = "fin_"

#: years * this + company id gives one integer key per (company, year)
_KEY = 1 << 32


def compute(ctx: Context) -> pd.DataFrame:
    fin = ctx.table("financials")
    n = ctx.n
    ids = ctx.ids("financials", "uscc")
    keep = ids >= 0
    fin = fin.loc[keep].reset_index(drop=True)
    ids = ids[keep]
    year = fin["year"].to_numpy(dtype="int64", na_value=0)
    revenue = as_float(fin["revenue_wan"])
    rd = as_float(fin["rd_expense_wan"])

    latest = last_by(ids, year, n)
    latest_year = take(year, latest)

    # rows of specific earlier years (Y-1, Y-2), found through a (year, company) key
    keys = pd.Index(year * _KEY + ids)
    comp = np.arange(n, dtype=np.int64)

    def row_of_year(offset: int) -> np.ndarray:
        want = np.where(
            latest >= 0, (np.nan_to_num(latest_year, nan=0).astype(np.int64) - offset), 0
        )
        pos = keys.get_indexer(want * _KEY + comp)
        pos[latest < 0] = -1
        return pos

    prev1, prev2 = row_of_year(1), row_of_year(2)
    rev_latest = take(revenue, latest)
    out: dict[str, np.ndarray] = {}
    out["latest_year"] = latest_year
    out["years_reported"] = count_by(ids, n)
    # days from 31 December of the latest year to the cut (the 1st of January after, less a day)
    after = np.nan_to_num(latest_year, nan=1970).astype(np.int64) + 1 - 1970
    year_end = after.astype("datetime64[Y]").astype("datetime64[D]") - np.timedelta64(1, "D")
    days = (np.datetime64(ctx.cut.date(), "D") - year_end).astype("float64")
    staleness = days / YEAR_DAYS
    out["staleness_years"] = np.where(latest >= 0, staleness, np.nan)
    out["revenue_latest_wan"] = rev_latest
    out["revenue_growth_1y"] = ratio(rev_latest, take(revenue, prev1)) - 1.0
    out["revenue_growth_2y"] = ratio(rev_latest, take(revenue, prev2)) - 1.0
    rd_latest = take(rd, latest)
    out["rd_expense_latest_wan"] = rd_latest
    out["rd_ratio_latest"] = _recent_ratio(ids, year, rd, revenue, latest_year, n)
    # R&D over the latest fiscal year and the one before; unknown unless both are on file
    # (one year alone is only a lower bound, which cannot tell a miss from a gap)
    out["rd_2y_wan"] = rd_latest + take(rd, prev1)
    main = as_float(fin["main_business_revenue_wan"])
    main_latest = take(main, latest)
    # a share is stable from year to year: when the latest year left a field blank, the
    # share of the latest year (at most two before it) that has both figures stands in
    out["main_business_share"] = _recent_ratio(ids, year, main, revenue, latest_year, n)
    # average yearly growth of main-business revenue over the two years before the latest
    with np.errstate(divide="ignore", invalid="ignore"):
        out["main_business_growth_2y"] = np.sqrt(ratio(main_latest, take(main, prev2))) - 1.0
    # R&D share of revenue over the latest year and the one before (either alone if the
    # other is missing)
    pair_rd = np.vstack([rd_latest, take(rd, prev1)])
    pair_rev = np.vstack([rev_latest, take(revenue, prev1)])
    usable = ~np.isnan(pair_rd) & ~np.isnan(pair_rev)
    out["rd_ratio_2y"] = ratio(
        np.where(usable, pair_rd, 0.0).sum(axis=0),
        np.where(usable.any(axis=0), np.where(usable, pair_rev, 0.0).sum(axis=0), np.nan),
    )
    out["profit_margin"] = ratio(take(as_float(fin["net_profit_wan"]), latest), rev_latest)
    out["export_share"] = ratio(take(as_float(fin["export_revenue_wan"]), latest), rev_latest)
    out["total_assets_wan"] = take(as_float(fin["total_assets_wan"]), latest)
    employees = take(as_float(fin["employees"]), latest)
    out["employees"] = employees
    out["rd_staff_share"] = ratio(take(as_float(fin["rd_staff"]), latest), employees)
    # the multi-year view: each ratio averaged over the known years, growth over the span
    out["rd_ratio_mean"] = mean_by(ids, ratio(rd, revenue), n)
    out["profit_margin_mean"] = mean_by(ids, ratio(as_float(fin["net_profit_wan"]), revenue), n)
    out["rd_staff_share_mean"] = mean_by(
        ids, ratio(as_float(fin["rd_staff"]), as_float(fin["employees"])), n
    )
    with_revenue = np.where(~np.isnan(revenue) & (revenue > 0), ids, -1)
    first_rev = last_by(with_revenue, -year, n)  # earliest year with revenue
    last_rev = last_by(with_revenue, year, n)
    span = take(year, last_rev) - take(year, first_rev)
    with np.errstate(divide="ignore", invalid="ignore"):
        cagr = np.exp(np.log(ratio(take(revenue, last_rev), take(revenue, first_rev))) / span) - 1.0
    out["revenue_cagr"] = np.where(span > 0, cagr, np.nan)
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})


#: how many fiscal years before the latest a share may come from when the latest has a gap
RECENT_YEARS = 2


def _recent_ratio(
    ids: np.ndarray,
    year: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    latest_year: np.ndarray,
    n: int,
) -> np.ndarray:
    """num / den of each company's latest year with both figures (den > 0), if that year is
    at most `RECENT_YEARS` before its latest known year; NaN otherwise."""
    both = ~np.isnan(num) & (den > 0)
    pos = last_by(np.where(both, ids, -1), year, n)
    recent = take(year, pos) >= latest_year - RECENT_YEARS
    return np.where(recent, ratio(take(num, pos), take(den, pos)), np.nan)
