"""Many dates from one read of the store give the very tables of one build per date."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features import History, ThresholdSpec, build_features, build_features_at, iter_features_at
from features.history import DatedContext, sorted_distinct
from graph.contract import TABLES
from graph.embedded import EmbeddedStore
from tests.features.worlds import AS_OF, add_future, load_store, small_world, write_world

SPECS = [
    ThresholdSpec("lg_revenue", "little_giant", "fin_revenue_latest_wan", ">=", 5000),
    ThresholdSpec("lg_rd", "little_giant", "fin_rd_2y_wan", ">=", 1200),
    ThresholdSpec("lg_ip", "little_giant", "ip_class1_self_top3", ">=", 4),
    ThresholdSpec("lg_quality", "little_giant", "std_quality_score", ">=", 60),
    ThresholdSpec("spec_quality", "specialized_sme", "std_quality_score", ">=", 50),
]
#: decision dates across the simulated world's history, unsorted and one repeated
DATES = [date(2024, 12, 31), date(2019, 12, 31), date(2022, 6, 30), date(2025, 12, 31)]


def assert_same(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Every column equal: same names, order, dtypes and values (floats within 1e-12)."""
    assert list(ours.columns) == list(reference.columns)
    for column in reference.columns:
        pd.testing.assert_series_equal(
            ours[column], reference[column], check_exact=False, rtol=1e-12, atol=1e-12
        )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    simulation = pytest.importorskip("discovery.simulation")
    root = tmp_path_factory.mktemp("sim")
    simulation.simulate(3000, 7, root / "data", root / "truth.csv", fmt="parquet")
    return load_store(root / "data", root / "store")


@pytest.mark.parametrize("latest", ["dates", "all"])
def test_many_dates_equal_one_build_per_date(simulated, latest):
    history = None if latest == "dates" else History(simulated)  # every row of the store
    built = build_features_at(simulated, [*DATES, DATES[0]], SPECS, history=history)
    assert list(built) == DATES  # in the order asked, each once
    for as_of in DATES:
        reference = build_features(simulated, as_of, SPECS)
        assert len(built[as_of]) == len(reference) > 0
        assert_same(built[as_of], reference)


def test_one_history_serves_later_calls_and_family_subsets(simulated):
    history = History(simulated)
    first = dict(iter_features_at(simulated, DATES[:2], SPECS, history=history))
    later = build_features_at(
        simulated, DATES[2:], SPECS, families=["ip", "embedding"], history=history
    )
    assert_same(first[DATES[1]], build_features(simulated, DATES[1], SPECS))
    for as_of in DATES[2:]:
        reference = build_features(simulated, as_of, SPECS, families=["ip", "embedding"])
        assert_same(later[as_of], reference)


def test_a_history_read_at_a_date_refuses_a_later_one(simulated):
    history = History(simulated, date(2023, 12, 31))
    with pytest.raises(ValueError, match="2023-12-31"):
        DatedContext(history, date(2024, 1, 1)).companies  # noqa: B018


def test_facts_after_every_date_change_no_table(tmp_path):
    """The small world's corner cases (counterparties without a profile, co-filed rights,
    pending outcomes, revocations), with and without facts dated after the dates."""
    world = small_world()
    base = load_store(write_world(world, tmp_path / "base"), tmp_path / "base_store")
    later_world = add_future(world, AS_OF)
    later = load_store(write_world(later_world, tmp_path / "later"), tmp_path / "later_store")
    dates = [date(2023, 6, 30), AS_OF]
    built = build_features_at(later, dates, SPECS, history=History(later))
    for as_of in dates:
        assert_same(built[as_of], build_features(base, as_of, SPECS))
        assert_same(built[as_of], build_features(later, as_of, SPECS))


def test_a_history_leaves_no_table_in_the_stores_memory(simulated):
    """The history keeps its coded tables; the store does not keep a second, text copy."""
    store = EmbeddedStore(simulated.root)
    History(store, AS_OF).load()
    assert store._cache == {}
    for name in TABLES:  # a one-off read is the store's read
        pd.testing.assert_frame_equal(store.read_once(name, AS_OF), store.read(name, AS_OF))
    assert {name for _, name in store._cache} == set(TABLES)  # reads still keep theirs


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.lists(st.text(alphabet="9aZ甲乙𠀀 -", max_size=4), max_size=8).map(
            lambda v: list(dict.fromkeys(v))  # an index of distinct values, as factorize gives
        ),
        max_size=4,
    ),
    cut=st.integers(0, 8),
)
def test_the_universe_is_every_value_once_in_python_order_whatever_the_chunks(texts, cut):
    indexes = []
    for values in texts:  # each index backed by two Arrow chunks (a file's row groups)
        chunks = [values[:cut], values[cut:]]
        array = pa.chunked_array(chunks, type=pa.large_string())
        indexes.append(pd.Index(pd.arrays.ArrowStringArray(array)))
    got, at = sorted_distinct(indexes)
    assert got.dtype == "str"
    assert list(got) == sorted({v for values in texts for v in values})
    # and each index's positions in it, as `get_indexer` gives them
    assert len(at) == len(texts)
    for values, where in zip(texts, at, strict=True):
        assert where.dtype == np.int64
        assert list(where) == [list(got).index(v) for v in values]


def test_families_beside_the_others_give_the_tables_of_one_after_another(simulated, monkeypatch):
    """The embedding runs on a thread of its own (`features.build.BESIDE`) while the other
    families share the context: bit for bit the tables of a build without that thread."""
    from features import build, embedding, registry

    threads: list[str] = []

    def recorded(ctx):
        threads.append(threading.current_thread().name)
        return embedding.compute(ctx)

    days = [DATES[1], DATES[0]]
    with registry.replaced("embedding", recorded):
        beside = build_features_at(simulated, days, SPECS)
        one = build_features(simulated, DATES[3], SPECS)
        # a caller busy between the dates: the families one after another, but for the
        # first date (no table before it keeps the caller busy)
        busy = dict(iter_features_at(simulated, days, SPECS, busy_between=True))
        monkeypatch.setattr(build, "BESIDE", frozenset())
        serial = build_features_at(simulated, days, SPECS)
        one_serial = build_features(simulated, DATES[3], SPECS)
    assert [t.startswith("family") for t in threads] == [True] * 3 + [True, False] + [False] * 3
    for as_of in days:
        pd.testing.assert_frame_equal(beside[as_of], serial[as_of], check_exact=True)
        pd.testing.assert_frame_equal(busy[as_of], serial[as_of], check_exact=True)
    pd.testing.assert_frame_equal(one, one_serial, check_exact=True)
