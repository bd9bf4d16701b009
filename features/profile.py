"""Profile: age, niche tenure, size, industry, region, tiers held, and which sources know a company.

Industry and region are pandas categoricals with sorted categories; LightGBM stores the
training categories and re-maps them at prediction time, so a new code never
shifts the others. Ownership is deliberately absent: it may not enter the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import count_by
from features.context import YEAR_DAYS, Context, days_between
from graph.contract import SIZE_CLASSES, TIERS

PREFIX = "profile_"

#: (flag name, table, code column) of the coverage flags
SOURCES: tuple[tuple[str, str, str], ...] = (
    ("financials", "financials", "uscc"),
    ("patents", "patents", "uscc"),
    ("awards", "awards", "uscc"),
    ("talents", "talents", "uscc"),
    ("investments", "investments", "investee_uscc"),
    ("supply_links", "supply_links", "supplier_uscc"),
    ("quality_score", "quality_scores", "uscc"),
)


def _categorical(values: pd.Series) -> pd.Categorical:
    codes, uniques = pd.factorize(values.astype("str"), sort=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype="str"))


def compute(ctx: Context) -> pd.DataFrame:
    comp = ctx.companies
    cut = ctx.cut
    n = ctx.n
    out: dict[str, object] = {}
    out["age_years"] = days_between(cut, comp["established_on"]) / YEAR_DAYS
    # niche_since after as_of had not happened yet at as_of: unknown then, so NaN.
    niche = comp["niche_since"].where(comp["niche_since"] <= cut)
    out["niche_years"] = days_between(cut, niche) / YEAR_DAYS
    out["size_class"] = pd.Categorical(
        comp["size_class"].to_numpy(dtype=object), categories=list(SIZE_CLASSES), ordered=True
    )
    industry = comp["industry_code"].astype("str")
    region = comp["region_code"].astype("str")
    out["industry_class"] = _categorical(industry)
    out["industry_section"] = _categorical(industry.str.slice(0, 1))
    out["province"] = _categorical(region.str.slice(0, 2))
    out["city"] = _categorical(region.str.slice(0, 4))

    held = ctx.node_holds_by_tier
    for tier in TIERS:
        out[f"holds_{tier}"] = held[tier][:n]

    apps = ctx.table("applications")
    app_ids = ctx.company_ids(apps["uscc"])
    rejected = (apps["outcome"] == "rejected").to_numpy(dtype=bool, na_value=False)
    out["applications"] = count_by(app_ids, n)
    out["rejections"] = count_by(app_ids, n, rejected)

    sup, cus = ctx.supply_nodes
    for flag, table, column in SOURCES:
        if table == "supply_links":  # known to the source as supplier or as customer
            ids = np.concatenate([ctx.as_company(sup), ctx.as_company(cus)])
        elif table == "investments":
            ids = ctx.as_company(ctx.investee_nodes)
        else:
            ids = ctx.company_ids(ctx.table(table)[column])
        known = np.zeros(n, dtype=bool)
        known[ids[ids >= 0]] = True
        out[f"has_{flag}"] = known
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})
