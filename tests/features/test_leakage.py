"""Point in time: facts dated after as_of never change a feature."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from features import History, ThresholdSpec, build_features, build_features_at
from tests.features.worlds import (
    AS_OF,
    add_future,
    load_store,
    small_world,
    strip_future,
    write_world,
)

SPECS = [
    ThresholdSpec("lg_revenue", "little_giant", "fin_revenue_latest_wan", ">=", 5000),
    ThresholdSpec("lg_ip", "little_giant", "ip_class1_self_top3", ">=", 4),
    ThresholdSpec("spec_quality", "specialized_sme", "std_quality_score", ">=", 50),
]


def _one_date(store, as_of):
    return build_features(store, as_of, SPECS)


def _many_dates(store, as_of):
    """The table at `as_of` built with an earlier date from one read of every row."""
    earlier = date(as_of.year - 2, as_of.month, as_of.day)
    return build_features_at(store, [earlier, as_of], SPECS, history=History(store))[as_of]


#: both ways of building a table: one date at a time, and many from one read
BUILDERS = pytest.mark.parametrize("build", [_one_date, _many_dates], ids=["one", "many"])


def _features(tables, tmp_path, name, as_of=AS_OF, build=_one_date):
    store = load_store(write_world(tables, tmp_path / name / "data"), tmp_path / name / "store")
    return build(store, as_of)


@BUILDERS
def test_adding_later_facts_changes_nothing(tmp_path, build):
    world = small_world()
    base = _features(world, tmp_path, "base", build=build)
    later = add_future(world, AS_OF)
    assert all(len(later[t]) > len(world[t]) for t in world)
    pd.testing.assert_frame_equal(base, _features(later, tmp_path, "later", build=build))


@BUILDERS
def test_removing_later_facts_changes_nothing(tmp_path, build):
    world = small_world()
    full = _features(world, tmp_path, "full", build=build)
    stripped = _features(strip_future(world, AS_OF), tmp_path, "stripped", build=build)
    pd.testing.assert_frame_equal(full, stripped, check_exact=True)


@pytest.mark.slow
@BUILDERS
def test_simulated_world_point_in_time(tmp_path, build):
    simulation = pytest.importorskip("discovery.simulation")
    data = tmp_path / "sim"
    simulation.simulate(1500, 11, data, tmp_path / "truth.csv", fmt="csv")
    as_of = date(2023, 6, 30)
    tables = {
        p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(data.glob("*.csv"))
    }
    full = _features(tables, tmp_path, "sim_full", as_of, build)
    stripped = _features(strip_future(tables, as_of), tmp_path, "sim_stripped", as_of, build)
    pd.testing.assert_frame_equal(full, stripped, check_exact=True)
    future = add_future(strip_future(tables, as_of), as_of)
    later = _features(future, tmp_path, "sim_later", as_of, build)
    pd.testing.assert_frame_equal(full, later, check_exact=True)
