"""Hand-computed values on a thirty-company world (see worlds.small_world)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from features import (
    THRESHOLD_MEASURES,
    ThresholdSpec,
    barred_at,
    build_features,
    build_features_at,
    families,
    holds_at,
    write_table,
)
from features.engine import CLIENT_TABLES
from features.history import History
from features.standards import COUNTED_FROM
from graph.errors import UsageError
from tests.features.worlds import AS_OF, C, load_store, small_world, write_world

LG = [
    ThresholdSpec("lg_revenue", "little_giant", "fin_revenue_latest_wan", ">=", 5000),
    ThresholdSpec("lg_rd", "little_giant", "fin_rd_2y_wan", ">=", 1200),
    ThresholdSpec("lg_ip", "little_giant", "ip_class1_self_top3", ">=", 4),
    ThresholdSpec("lg_quality", "little_giant", "std_quality_score", ">=", 60),
    ThresholdSpec("spec_quality", "specialized_sme", "std_quality_score", ">=", 50),
]


@pytest.fixture
def table(small_store):
    return build_features(small_store, AS_OF, LG).set_index("uscc")


def test_one_row_per_known_company_in_order(small_store, table):
    companies = small_store.read("companies", AS_OF)
    assert list(table.index) == list(companies["uscc"])
    assert C[29] not in table.index  # founded after as_of


def test_no_ownership_and_prefixes(table):
    assert not [c for c in table.columns if "ownership" in c]
    prefixes = ("profile_", "fin_", "ip_", "award_", "talent_", "equity_", "chain_", "emb_", "std_")
    assert all(c.startswith(prefixes) for c in table.columns)


def test_profile(table):
    row = table.loc[C[0]]
    assert row["profile_age_years"] == pytest.approx(
        (pd.Timestamp(AS_OF) - pd.Timestamp("2015-03-01")).days / 365.25
    )
    assert row["profile_niche_years"] == pytest.approx(
        (pd.Timestamp(AS_OF) - pd.Timestamp("2018-01-01")).days / 365.25
    )
    assert np.isnan(table.loc[C[1], "profile_niche_years"])  # niche work starts after as_of
    assert table["profile_province"].dtype == "category"
    assert row["profile_province"] == "44" and row["profile_city"] == "4403"
    assert row["profile_industry_section"] == "C" and row["profile_industry_class"] == "C3976"
    assert table.loc[C[4], "profile_size_class"] == "large"
    assert row["profile_holds_specialized_sme"]  # revoked only after as_of
    assert not table.loc[C[2], "profile_holds_tech_sme"]  # revoked before as_of
    # years since first certified in a tier: expired and revoked certificates count,
    # one certified after as_of does not, a tier never held is unknown
    since = {
        c: (pd.Timestamp(AS_OF) - pd.Timestamp(d)).days / 365.25
        for c, d in [(0, "2024-01-01"), (4, "2021-01-01"), (2, "2024-01-01")]
    }
    assert row["profile_specialized_sme_years"] == pytest.approx(since[0])
    assert table.loc[C[4], "profile_specialized_sme_years"] == pytest.approx(since[4])
    assert table.loc[C[2], "profile_tech_sme_years"] == pytest.approx(since[2])
    assert np.isnan(table.loc[C[12], "profile_specialized_sme_years"])  # certified later
    assert np.isnan(row["profile_little_giant_years"])
    assert np.isnan(table.loc[C[3], "profile_tech_sme_years"])  # never certified
    assert row["profile_has_patents"] and not table.loc[C[4], "profile_has_patents"]
    assert table.loc[C[1], "profile_has_financials"]
    assert row["profile_rejections"] == 1
    assert table.loc[C[1], "profile_rejections"] == 0  # decided after as_of: still pending


def test_financial(table):
    row = table.loc[C[0]]
    assert row["fin_latest_year"] == 2024
    assert row["fin_revenue_latest_wan"] == 6000
    assert row["fin_revenue_growth_1y"] == pytest.approx(0.2)
    assert row["fin_revenue_growth_2y"] == pytest.approx(0.5)
    assert row["fin_rd_2y_wan"] == 1300
    assert row["fin_rd_ratio_latest"] == pytest.approx(700 / 6000)
    assert row["fin_main_business_share"] == pytest.approx(0.9)
    assert row["fin_export_share"] == pytest.approx(0.05)
    assert row["fin_rd_staff_share"] == pytest.approx(0.3)
    assert row["fin_staleness_years"] == pytest.approx(181 / 365.25)
    # multi-year view over 2022-2024 (2025 was reported after as_of)
    assert row["fin_rd_ratio_mean"] == pytest.approx((500 / 4000 + 600 / 5000 + 700 / 6000) / 3)
    assert row["fin_profit_margin_mean"] == pytest.approx(
        (400 / 4000 + 500 / 5000 + 600 / 6000) / 3
    )
    assert row["fin_rd_staff_share_mean"] == pytest.approx((20 / 80 + 25 / 90 + 30 / 100) / 3)
    assert row["fin_revenue_cagr"] == pytest.approx((6000 / 4000) ** 0.5 - 1)
    assert table.loc[C[1], "fin_years_reported"] == 1
    assert np.isnan(table.loc[C[1], "fin_revenue_cagr"])  # one known year: no span
    assert table.loc[C[1], "fin_latest_year"] == 2023  # 2024 reported after as_of
    assert np.isnan(table.loc[C[4], "fin_revenue_latest_wan"])


def test_ip(table):
    row = table.loc[C[0]]
    # P1 (rank 1) and P7 (ic_layout, rank 2): granted, in force, self-filed, top three
    assert row["ip_class1_self_top3"] == 2
    assert row["ip_class1_in_force"] == 4  # P1 P2 P3 P7; P4 lapsed, P5 granted later
    assert row["ip_class2_in_force"] == 1
    assert row["ip_pending"] == 1  # P5; P8 filed after as_of
    assert row["ip_filed_total"] == 7
    assert table.loc[C[9], "ip_class1_self_top3"] == 1  # co-applicant of P1
    assert table.loc[C[4], "ip_class1_self_top3"] == 0  # no patents known: 0, not unknown


def test_awards_and_talent(table):
    row = table.loc[C[0]]
    assert (row["award_national"], row["award_provincial"], row["award_municipal"]) == (1, 1, 0)
    assert row["award_top_prizes"] == 1
    assert row["award_years_since_latest"] == pytest.approx(
        (pd.Timestamp(AS_OF) - pd.Timestamp("2024-01-01")).days / 365.25
    )
    assert row["talent_active"] == 2  # T1 open, T3 leaves after as_of
    assert row["talent_active_national"] == 1 and row["talent_active_municipal"] == 1
    assert row["talent_active_provincial"] == 0


def test_equity_and_leave_one_out(table):
    row = table.loc[C[0]]
    assert row["equity_investors"] == 3  # I4 invests after as_of
    assert row["equity_rounds"] == 3  # 2023-01-01, 2024-06-01 (two investors), 2025-01-01
    assert row["equity_amount_wan"] == 3500
    assert row["equity_gov_funds"] == 1 and row["equity_corporate_investors"] == 1
    assert row["equity_latest_stage"] == "strategic"
    # I1's other companies C10 C11 C12: two specialized (C12 certified after as_of); I2's: C13
    assert row["equity_investor_specialized_share_max"] == pytest.approx(2 / 3)
    assert row["equity_investor_specialized_share_mean"] == pytest.approx(1 / 3)
    assert row["equity_investor_little_giant_share_max"] == 1.0
    assert row["equity_investor_little_giant_share_mean"] == 0.5
    # C10's own certificate is left out: I1's others are C0 (holds), C11 (holds), C12 (not)
    assert table.loc[C[10], "equity_investor_specialized_share_max"] == pytest.approx(2 / 3)
    assert np.isnan(table.loc[C[4], "equity_investor_specialized_share_max"])


def test_supply_chain(table):
    row = table.loc[C[0]]
    assert row["chain_customers"] == 3  # C4, C5 (ends after as_of), X
    assert row["chain_suppliers"] == 2  # C1, C4; C2 ended, C3 starts later
    assert row["chain_leader_customers"] == 1  # C4 is large
    assert row["chain_customers_little_giant"] == 1  # C5
    assert row["chain_suppliers_innov"] == 1  # C1 tech_sme
    assert row["chain_customers_specialized"] == 0  # C4's certificate expired
    assert row["chain_customers_2hop"] == 2  # C6, C7 (C0 itself excluded)
    assert row["chain_suppliers_2hop"] == 0  # C4's only supplier is C0 itself
    assert table.loc[C[6], "chain_suppliers_2hop"] == 1  # C0 via C4 and C5, counted once
    assert row["chain_sales_wan"] == 510
    assert table.loc[C[2], "chain_customers"] == 0


def test_thresholds(table):
    row = table.loc[C[0]]
    assert row["std_quality_score"] == 65 and row["std_quality_year"] == 2024
    assert (row["std_lg_revenue"], row["std_lg_rd"], row["std_lg_ip"]) == (1.0, 1.0, 0.0)
    assert (row["std_lg_quality"], row["std_spec_quality"]) == (1.0, 1.0)
    other = table.loc[C[4]]
    assert np.isnan(other["std_lg_revenue"]) and np.isnan(other["std_lg_quality"])
    assert other["std_lg_ip"] == 0.0
    assert table.loc[C[1], "std_lg_revenue"] == 0.0


@pytest.mark.parametrize("patents", ["absent", "later"])
def test_a_registry_not_on_file_leaves_its_thresholds_unknown(tmp_path, patents):
    """No patent row known at the date (a province that has not connected its patent
    records, or whose records start later): every company's IP threshold is unknown,
    not missed, on both build paths; the counts and every other threshold stay."""
    world = small_world()
    if patents == "absent":
        del world["patents"]
    else:  # every right filed (so known) after the date
        world["patents"] = world["patents"].assign(
            filed_on="2025-07-01", granted_on="", lapsed_on=""
        )
    store = load_store(write_world(world, tmp_path / "data"), tmp_path / "store")
    history = History(store)
    assert not history.holds_rows("patents", AS_OF)
    assert history.holds_rows("investments", AS_OF)
    assert history.holds_rows("patents", date(2025, 7, 1)) == (patents == "later")
    one = build_features(store, AS_OF, LG).set_index("uscc")
    many = build_features_at(store, [AS_OF], LG, history=history)[AS_OF].set_index("uscc")
    pd.testing.assert_frame_equal(one, many)
    assert one["std_lg_ip"].isna().all()
    assert (one["ip_class1_self_top3"] == 0).all()  # what the (empty) records say
    row = one.loc[C[0]]
    assert (row["std_lg_revenue"], row["std_lg_rd"], row["std_lg_quality"]) == (1.0, 1.0, 1.0)


def test_a_registry_on_file_counts_a_company_without_rows_as_missing(table):
    # the small world has patents: a company with none misses the IP threshold
    assert table.loc[C[4], "ip_class1_self_top3"] == 0 and table.loc[C[4], "std_lg_ip"] == 0.0
    # every registry the thresholds count from stays in the Dask client's history
    assert set(COUNTED_FROM.values()) <= set(CLIENT_TABLES)


def test_threshold_measures_exist(table):
    for measure in THRESHOLD_MEASURES:
        assert measure in table.columns
    with pytest.raises(UsageError):
        ThresholdSpec("x", "little_giant", "no_such_measure", ">=", 1)
    with pytest.raises(UsageError):
        ThresholdSpec("x", "little_giant", "fin_rd_2y_wan", "==", 1)  # type: ignore[arg-type]


def test_family_subset_and_schema(small_store, table):
    sub = build_features(small_store, AS_OF, LG[:1], families=["ip"])
    assert list(sub.columns) == ["uscc", *[c for c in table.columns if c.startswith("ip_")]]
    pd.testing.assert_series_equal(
        sub.set_index("uscc")["ip_class1_self_top3"], table["ip_class1_self_top3"]
    )
    with pytest.raises(UsageError):
        build_features(small_store, AS_OF, families=["nope"])
    assert families()[-1].name == "standards"


def test_deterministic_and_timings(small_store):
    timings: dict[str, dict[str, float]] = {}
    a = build_features(small_store, AS_OF, LG, timings=timings)
    b = build_features(small_store, AS_OF, LG)
    pd.testing.assert_frame_equal(a, b)
    assert {f.name for f in families()} <= set(timings) and timings["total"]["seconds"] > 0
    emb = a.filter(like="emb_").to_numpy()
    norms = np.linalg.norm(emb, axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-5)


def test_holds_and_barred():
    world = small_world()
    certs = world["certifications"].copy()
    for col in ("certified_on", "expires_on", "revoked_on"):
        certs[col] = pd.to_datetime(certs[col].replace("", None))
    held = holds_at(certs, AS_OF)
    assert held.loc[C[5], "little_giant"] and not held.loc[C[4], "specialized_sme"]
    assert held.loc[C[0], "specialized_sme"] and not held.loc[C[2], "tech_sme"]
    assert not held.loc[C[12], "specialized_sme"]
    # expires_on is exclusive
    assert not holds_at(certs, pd.Timestamp("2026-01-01").date()).loc[C[5], "little_giant"]
    events = world["compliance_events"].copy()
    for col in ("start_on", "end_on"):
        events[col] = pd.to_datetime(events[col].replace("", None))
    barred = barred_at(events, AS_OF)
    assert barred[C[20]] and not barred[C[21]]
    assert barred[C[22]]  # started 2022-07-01, after 2022-06-30
    assert not barred[C[23]]  # started on the same calendar day three years before
    assert barred[C[24]] and not barred[C[25]]


def test_write_table(small_store, tmp_path):
    frame = build_features(small_store, AS_OF, LG)
    write_table(frame, tmp_path / "f.parquet")
    back = pd.read_parquet(tmp_path / "f.parquet")
    assert list(back.columns) == list(frame.columns)
    assert back["profile_province"].dtype == "category"
    write_table(frame, tmp_path / "f.csv")
    text = pd.read_csv(tmp_path / "f.csv", dtype={"uscc": str, "profile_province": str})
    assert list(text.columns) == list(frame.columns)
    assert text.loc[0, "profile_province"] == "44"
    assert text["fin_revenue_latest_wan"].equals(frame["fin_revenue_latest_wan"])
    with pytest.raises(UsageError):
        write_table(frame, tmp_path / "f.xlsx")
