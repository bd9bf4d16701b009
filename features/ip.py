"""Intellectual property: rights in force at `as_of`, by class, and filing activity.

A right is in force when granted on or before `as_of` and not lapsed by then (the
store blanks grant and lapse dates after `as_of`). Counts are 0, not unknown, when a
company has no known rights: patent and copyright registries are public and
complete, so absence there is evidence of absence. That holds while the registry is on
file: with no patent row at all, the thresholds on these counts read unknown
(`features.standards.COUNTED_FROM`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import count_by, min_by, ratio
from features.context import YEAR_DAYS, Context
from graph.contract import CLASS_ONE_IP_TYPES, CLASS_TWO_IP_TYPES
from graph.store import active_at

PREFIX = "ip_"
#: applicant ranks that count for the little-giant measure ("ranked in the top three")
TOP_RANK = 3
RECENT_YEARS = 3


def compute(ctx: Context) -> pd.DataFrame:
    pat = ctx.table("patents")
    n = ctx.n
    ids = ctx.ids("patents", "uscc")
    kind = pat["ip_type"]
    class1 = kind.isin(CLASS_ONE_IP_TYPES).to_numpy(dtype=bool)
    class2 = kind.isin(CLASS_TWO_IP_TYPES).to_numpy(dtype=bool)
    granted = pat["granted_on"].notna().to_numpy(dtype=bool)
    lapsed = ~active_at(pat, "lapsed_on", ctx.as_of)
    in_force = granted & ~lapsed
    self_filed = pat["self_filed"].to_numpy(dtype=bool, na_value=False)
    top = (pat["applicant_rank"] <= TOP_RANK).to_numpy(dtype=bool, na_value=False)
    since = ctx.cut - pd.DateOffset(years=RECENT_YEARS)
    recent = (pat["filed_on"] > since).to_numpy(dtype=bool, na_value=False)

    out: dict[str, np.ndarray] = {}
    out["class1_in_force"] = count_by(ids, n, class1 & in_force)
    out["class2_in_force"] = count_by(ids, n, class2 & in_force)
    out["invention_in_force"] = count_by(
        ids, n, (kind == "invention").to_numpy(dtype=bool, na_value=False) & in_force
    )
    out["class1_self_top3"] = count_by(ids, n, class1 & in_force & self_filed & top)
    filed = count_by(ids, n)
    out["filed_total"] = filed
    out["filed_3y"] = count_by(ids, n, recent)
    out["class1_filed_3y"] = count_by(ids, n, recent & class1)
    out["pending"] = count_by(ids, n, ~granted & ~lapsed)
    out["grant_rate"] = ratio(count_by(ids, n, granted), filed)
    out["first_applicant_share"] = ratio(
        count_by(ids, n, (pat["applicant_rank"] == 1).to_numpy(dtype=bool, na_value=False)), filed
    )
    # the most recent filing: fewest days ago
    fewest = min_by(ids, (ctx.cut - pat["filed_on"]).dt.days.to_numpy(dtype="int64"), n)
    out["years_since_filing"] = fewest / YEAR_DAYS
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})
