"""The whole feature table on a simulated world."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from features import ThresholdSpec, build_features, families
from tests.features.worlds import load_store

simulation = pytest.importorskip("discovery.simulation")

SPECS = [
    ThresholdSpec("lg_revenue", "little_giant", "fin_revenue_latest_wan", ">=", 5000),
    ThresholdSpec("lg_rd", "little_giant", "fin_rd_2y_wan", ">=", 1200),
    ThresholdSpec("lg_ip", "little_giant", "ip_class1_self_top3", ">=", 4),
    ThresholdSpec("lg_quality", "little_giant", "std_quality_score", ">=", 60),
    ThresholdSpec("spec_quality", "specialized_sme", "std_quality_score", ">=", 50),
]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    simulation.simulate(3000, 5, root / "data", root / "truth.csv", fmt="parquet")
    return load_store(root / "data", root / "store")


def test_every_family_present_and_populated(simulated):
    as_of = date(2024, 6, 30)
    frame = build_features(simulated, as_of, SPECS)
    assert len(frame) == len(simulated.read("companies", as_of))
    assert frame.columns[0] == "uscc" and frame["uscc"].is_unique
    features = [c for c in frame.columns if c != "uscc"]
    assert len(features) >= 40
    for prefix in (f.prefix for f in families()):
        cols = [c for c in features if c.startswith(prefix)]
        assert cols, prefix
        numeric = frame[cols].select_dtypes(include=["number", "bool"])
        # every family carries information: some column varies across companies
        assert any(numeric[c].nunique(dropna=True) > 1 for c in numeric.columns), prefix
    assert frame["chain_customers"].sum() > 0 and frame["equity_investors"].sum() > 0
    assert frame["std_lg_ip"].notna().all()  # IP counts are known (0 when none)
    assert frame["std_lg_quality"].isna().any() and (frame["std_lg_quality"] == 1).any()
    assert np.isclose(frame["chain_pagerank"].mean(), 1.0, rtol=0.5)


def test_schema_is_stable_across_dates(simulated):
    a = build_features(simulated, date(2021, 6, 30), SPECS)
    b = build_features(simulated, date(2025, 6, 30), SPECS)
    assert list(a.columns) == list(b.columns)
    assert len(a) < len(b)
    assert (a.dtypes.astype(str).to_numpy() == b.dtypes.astype(str).to_numpy()).all()
    pd.testing.assert_frame_equal(b, build_features(simulated, date(2025, 6, 30), SPECS))
