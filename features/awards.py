"""Science and technology awards known at `as_of`: counts by level, top prizes, recency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import count_by, last_by
from features.context import YEAR_DAYS, Context
from graph.contract import LEVELS

PREFIX = "award_"
TOP_PRIZES = ("special", "first")
RECENT_YEARS = 3


def compute(ctx: Context) -> pd.DataFrame:
    aw = ctx.table("awards")
    n = ctx.n
    ids = ctx.ids("awards", "uscc")
    level = aw["level"].astype("str")
    out: dict[str, np.ndarray] = {"total": count_by(ids, n)}
    for lv in LEVELS:
        out[lv] = count_by(ids, n, (level == lv).to_numpy(dtype=bool))
    top = aw["prize"].isin(TOP_PRIZES).to_numpy(dtype=bool)
    out["top_prizes"] = count_by(ids, n, top)
    out["national_top_prizes"] = count_by(ids, n, top & (level == "national").to_numpy(dtype=bool))
    since = ctx.cut - pd.DateOffset(years=RECENT_YEARS)
    out["recent_3y"] = count_by(
        ids, n, (aw["awarded_on"] > since).to_numpy(dtype=bool, na_value=False)
    )
    days = (ctx.cut - aw["awarded_on"]).dt.days.to_numpy(dtype="float64")
    last = last_by(ids, -days, n)
    years_since = np.full(n, np.nan)
    years_since[last >= 0] = days[last[last >= 0]] / YEAR_DAYS
    out["years_since_latest"] = years_since
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})
