"""Profile: age, niche tenure, size, industry, region, tiers held and since when, and
which sources know a company.

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
#: years since first certified in each tier: inputs of the quality-score estimate only
#: (`discovery.schema.ESTIMATE_ONLY`)
TENURE_COLUMNS = tuple(f"{PREFIX}{tier}_years" for tier in TIERS)

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


def _categorical(values: pd.Series, length: int | None = None) -> pd.Categorical:
    """The text of `values` (its first `length` characters) as a categorical whose
    categories are the sorted distinct values present."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.notna().all():
        # decode the categories, not every row: the same result, far fewer strings
        codes = values.cat.codes.to_numpy()
        present = np.unique(codes)
        texts = pd.Series(values.cat.categories[present], dtype="str")
        if length is not None:
            texts = texts.str.slice(0, length)
        local, uniques = pd.factorize(texts, sort=True)
        at = np.full(len(values.cat.categories), -1, dtype=np.int64)
        at[present] = local
        return pd.Categorical.from_codes(at[codes], categories=pd.Index(uniques, dtype="str"))
    text = values.astype("str")
    if length is not None:
        text = text.str.slice(0, length)
    codes, uniques = pd.factorize(text, sort=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype="str"))


def _years_since_first_certified(ctx: Context) -> np.ndarray:
    """Per company (rows) and tier (columns, in `TIERS` order): years from its first
    certification in the tier to `as_of`, expired or revoked ones included; NaN if never
    certified in it by then. A company that has just reached a tier and one that has held
    it for years stand differently before the next review (their quality scores differ)."""
    certs = ctx.table("certifications")
    ids = ctx.ids("certifications", "uscc")
    tier_pos = pd.Index(TIERS).get_indexer(certs["tier"].astype("str"))
    years = days_between(ctx.cut, certs["certified_on"]) / YEAR_DAYS
    ok = (ids >= 0) & (tier_pos >= 0) & (years >= 0)  # NaN dates compare False
    first = np.full((ctx.n, len(TIERS)), -np.inf)
    np.maximum.at(first, (ids[ok], tier_pos[ok]), years[ok])
    first[np.isinf(first)] = np.nan
    return first


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
    out["industry_class"] = _categorical(comp["industry_code"])
    out["industry_section"] = _categorical(comp["industry_code"], 1)
    out["province"] = _categorical(comp["region_code"], 2)
    out["city"] = _categorical(comp["region_code"], 4)

    held = ctx.node_holds_by_tier
    for tier in TIERS:
        out[f"holds_{tier}"] = held[tier][:n]
    for tier, years in zip(TIERS, _years_since_first_certified(ctx).T, strict=True):
        out[f"{tier}_years"] = years

    apps = ctx.table("applications")
    app_ids = ctx.ids("applications", "uscc")
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
            ids = ctx.ids(table, column)
        known = np.zeros(n, dtype=bool)
        known[ids[ids >= 0]] = True
        out[f"has_{flag}"] = known
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})
