"""The feature-family registry: one owner and one reason channel per column, and the swap hook."""

from __future__ import annotations

import pandas as pd
import pytest

from discovery.explain import CHANNEL_NAMES, CHANNELS, Evidence, channel_contributions
from discovery.quality import ESTIMATE_COLUMN
from features import ThresholdSpec, build_features, channel_of, families, family_of, registry
from graph.errors import UsageError
from tests.features.worlds import AS_OF

SPECS = [
    ThresholdSpec("lg_revenue", "little_giant", "fin_revenue_latest_wan", ">=", 5000),
    ThresholdSpec("lg_quality", "little_giant", "std_quality_score", ">=", 60),
]

#: the feature table's columns as they were before the registry, family by family
COLUMNS = {
    "profile_": "age_years niche_years size_class industry_class industry_section province city "
    "holds_tech_sme holds_innovative_sme holds_specialized_sme holds_little_giant "
    "tech_sme_years innovative_sme_years specialized_sme_years little_giant_years applications "
    "rejections has_financials has_patents has_awards has_talents has_investments "
    "has_supply_links has_quality_score",
    "fin_": "latest_year years_reported staleness_years revenue_latest_wan revenue_growth_1y "
    "revenue_growth_2y rd_expense_latest_wan rd_ratio_latest rd_2y_wan main_business_share "
    "main_business_growth_2y rd_ratio_2y profit_margin export_share total_assets_wan employees "
    "rd_staff_share rd_ratio_mean profit_margin_mean rd_staff_share_mean revenue_cagr",
    "ip_": "class1_in_force class2_in_force invention_in_force class1_self_top3 filed_total "
    "filed_3y class1_filed_3y pending grant_rate first_applicant_share years_since_filing",
    "award_": "total national provincial municipal top_prizes national_top_prizes recent_3y "
    "years_since_latest",
    "talent_": "active active_national active_provincial active_municipal ever programs left",
    "equity_": "investors rounds amount_wan financing_2y_wan gov_funds corporate_investors "
    "vc_pe_investors latest_stage years_since_investment investor_portfolio_max "
    "investor_innov_share_max investor_innov_share_mean investor_specialized_share_max "
    "investor_specialized_share_mean investor_little_giant_share_max "
    "investor_little_giant_share_mean",
    "chain_": "customers suppliers leader_customers customers_innov suppliers_innov "
    "customers_specialized suppliers_specialized customers_little_giant "
    "suppliers_little_giant customers_2hop suppliers_2hop sales_wan purchases_wan pagerank",
    "emb_": " ".join(f"{i:02d}" for i in range(32)),
    "std_": "quality_score quality_year",
}
#: the channels `discovery.explain` used before it read them from the registry
OLD_CHANNELS = {
    "chain_": "supply_chain",
    "emb_": "supply_chain",
    "equity_": "equity",
    "ip_": "ip",
    "award_": "awards",
    "talent_": "talent",
    "fin_": "profile",
    "profile_": "profile",
    "std_": "profile",
    "qs_": "profile",
}


def test_feature_table_columns_are_unchanged(small_store):
    expected = [p + name for p, names in COLUMNS.items() for name in names.split()]
    assert list(build_features(small_store, AS_OF).columns) == ["uscc", *expected]
    with_specs = build_features(small_store, AS_OF, SPECS)
    assert list(with_specs.columns) == ["uscc", *expected, "std_lg_revenue", "std_lg_quality"]


def test_every_model_input_maps_to_exactly_one_channel(small_store):
    frame = build_features(small_store, AS_OF, SPECS)
    inputs = [c for c in frame.columns if c != "uscc"] + [ESTIMATE_COLUMN]
    prefixes = registry.prefix_channels()
    for column in inputs:
        owners = [p for p in prefixes if column.startswith(p)]
        assert len(owners) == 1, (column, owners)
        assert channel_of(column) == prefixes[owners[0]]
    assert CHANNELS == OLD_CHANNELS  # the same channels, now declared by the registry


def test_every_registered_prefix_has_one_channel_and_one_owner():
    prefixes = [f.prefix for f in families()] + [c.prefix for c in registry.DERIVED]
    assert len(prefixes) == len(set(prefixes))
    for a in prefixes:
        assert [b for b in prefixes if a.startswith(b)] == [a]
        assert channel_of(a + "x") in registry.CHANNELS
    # every channel has display text and an evidence sentence
    assert set(registry.CHANNELS) == set(CHANNEL_NAMES)
    assert all(callable(getattr(Evidence, f"_{c}", None)) for c in registry.CHANNELS)
    assert [family_of(f.prefix + "x") for f in families()] == [f.name for f in families()]


def test_an_unknown_prefix_is_an_error_naming_the_column():
    with pytest.raises(UsageError, match="mystery_score"):
        channel_of("mystery_score")
    contrib = pd.DataFrame({"fin_revenue_latest_wan": [0.1], "mystery_score": [0.2], "bias": [0]})
    with pytest.raises(UsageError, match="mystery_score"):
        channel_contributions(contrib)
    with pytest.raises(UsageError, match="qs_estimate"):
        family_of(ESTIMATE_COLUMN)  # a derived column: it has a channel, not a family


def _zeros_like(original: registry.Compute) -> registry.Compute:
    return lambda ctx: original(ctx) * 0


def test_replaced_swaps_a_family_and_restores_it(small_store):
    before = families()
    original = registry.family("talent")
    with registry.replaced("talent", _zeros_like(original.compute)) as swapped:
        assert swapped.prefix == original.prefix and swapped.channel == original.channel
        assert registry.family("talent") is swapped
        frame = build_features(small_store, AS_OF, families=["talent"])
    assert families() == before
    assert frame.filter(like="talent_").to_numpy().sum() == 0
    assert build_features(small_store, AS_OF, families=["talent"])["talent_ever"].sum() > 0


def test_replaced_restores_on_error_and_when_nested():
    before = families()
    with pytest.raises(RuntimeError), registry.replaced("ip", lambda ctx: pd.DataFrame()):
        raise RuntimeError("boom")
    assert families() == before
    first, second = (lambda ctx: pd.DataFrame()), (lambda ctx: pd.DataFrame())
    with registry.replaced("ip", first):
        with registry.replaced("ip", second):
            assert registry.family("ip").compute is second
        assert registry.family("ip").compute is first
    assert families() == before
    with pytest.raises(UsageError, match="nope"), registry.replaced("nope", first):
        pass
