"""The dask engine builds the pandas engine's feature tables, on a two-worker cluster."""

from __future__ import annotations

import socket
from contextlib import nullcontext
from datetime import date
from functools import partial

import dask
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from pydantic import ValidationError

import features
from discovery import simulation
from features import History, dask_graph, engine, network, registry
from graph.errors import UsageError, WorkerLostError
from tests.features.test_history import SPECS
from tests.features.worlds import AS_OF, add_future, load_store, small_world, write_world

#: a cluster that stops answering fails the test instead of holding CI up
pytestmark = pytest.mark.timeout(300)

#: two dates, so the partitions sent once serve both
DATES = [date(2023, 6, 30), AS_OF]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GB",
        dashboard_address=":0",
    ) as running:
        yield running


@pytest.fixture
def on_cluster(cluster, monkeypatch):
    """Builds run on the test cluster, chosen by the settings as a deployment would."""
    monkeypatch.setenv("DISCOVERY_ENGINE", "dask")
    monkeypatch.setenv("DISCOVERY_DASK_SCHEDULER", cluster.scheduler_address)
    return cluster


def assert_same(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Same columns in the same order, same dtypes, floats within 1e-9."""
    assert list(ours.columns) == list(reference.columns)
    for column in reference.columns:
        pd.testing.assert_series_equal(
            ours[column], reference[column], check_exact=False, rtol=1e-9, atol=1e-9
        )


def test_a_simulated_world_gets_the_pandas_tables(on_cluster, tmp_path):
    simulation.simulate(1500, 11, tmp_path / "data", tmp_path / "truth.csv", fmt="parquet")
    store = load_store(tmp_path / "data", tmp_path / "store")
    history = History(store, max(DATES))
    reference = features.build_features_at(store, DATES, SPECS, engine="pandas", history=history)
    timings: dict[str, dict[str, float]] = {}
    built = features.build_features_at(store, DATES, SPECS, timings=timings, history=history)
    assert "partitions" in timings  # the settings chose the dask engine
    for as_of in DATES:
        assert len(built[as_of]) == len(reference[as_of]) > 1000
        assert reference[as_of]["chain_customers_2hop"].sum() > 0  # the graph is not empty
        assert reference[as_of]["equity_investor_portfolio_max"].max() > 1
        assert_same(built[as_of], reference[as_of])


def test_hubs_two_step_paths_are_counted_alike(on_cluster, tmp_path, monkeypatch):
    """With the busiest companies made hubs, both engines count the paths through them
    (on the client, from the edges) and the distinct ends through the others; the
    paths never undercount the distinct ends."""
    simulation.simulate(1500, 13, tmp_path / "data", tmp_path / "truth.csv", fmt="parquet")
    store = load_store(tmp_path / "data", tmp_path / "store")
    asked = ["supply_chain"]
    exact = features.build_features(store, AS_OF, SPECS, families=asked, engine="pandas")
    monkeypatch.setattr(network, "HUB_PATHS", 30)
    reference = features.build_features(store, AS_OF, SPECS, families=asked, engine="pandas")
    built = features.build_features_at(store, [AS_OF], SPECS, families=asked)[AS_OF]
    for column in ["chain_customers_2hop", "chain_suppliers_2hop"]:
        assert (reference[column] >= exact[column]).all()
        assert (reference[column] > exact[column]).sum() >= 10  # the hubs made a difference
    assert_same(built, reference)


def test_workers_short_of_memory_spill_partitions_and_build_the_same_tables(tmp_path, monkeypatch):
    """Out of core: the workers may keep almost nothing in memory (a memory target of a
    millionth of their limit), so every partition they receive goes to disk and is read
    back for each date; the tables are the pandas engine's all the same."""
    simulation.simulate(1500, 12, tmp_path / "data", tmp_path / "truth.csv", fmt="parquet")
    store = load_store(tmp_path / "data", tmp_path / "store")
    monkeypatch.setattr(engine, "PARTITION_COMPANIES", 300)  # 5+ partitions, 3 per worker
    history = History(store, max(DATES))
    reference = features.build_features_at(store, DATES, SPECS, engine="pandas", history=history)
    spill = {"distributed.worker.memory.target": 1e-6, "distributed.worker.memory.spill": False}
    with (
        dask.config.set(spill),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GB",
            dashboard_address=":0",
        ) as cluster,
    ):
        monkeypatch.setenv("DISCOVERY_ENGINE", "dask")
        monkeypatch.setenv("DISCOVERY_DASK_SCHEDULER", cluster.scheduler_address)
        built = features.build_features_at(store, DATES, SPECS, history=history)
        with Client(cluster) as client:
            written = client.run(
                lambda dask_worker: dask_worker.data.cumulative_metrics[("disk-write", "count")]
            )
    for as_of in DATES:
        assert_same(built[as_of], reference[as_of])
    # both workers wrote partitions (and the dates' results) to disk and read them back
    assert len(written) == 2 and min(written.values()) >= 3


def test_corner_cases_and_later_facts_change_nothing(on_cluster, tmp_path, monkeypatch):
    """Counterparties without a profile, co-filed rights, revocations, facts after the
    dates, a company founded after the first date; the families that look across
    companies, asked for alone (the thresholds' measures come from the others); more
    partitions than workers, some without a company at the first date."""
    monkeypatch.setattr(engine, "PARTITION_COMPANIES", 20)
    world = add_future(small_world(), AS_OF)
    store = load_store(write_world(world, tmp_path / "data"), tmp_path / "store")
    asked = ["profile", "equity", "supply_chain", "embedding"]
    built = features.build_features_at(store, DATES, SPECS, families=asked)
    for as_of in DATES:
        reference = features.build_features(store, as_of, SPECS, families=asked, engine="pandas")
        assert [c.split("_")[0] for c in reference.columns[:2]] == ["uscc", "profile"]
        assert reference.columns[-1] == "emb_31"
        assert_same(built[as_of], reference)


def test_the_client_keeps_only_the_tables_its_own_steps_read(cluster, small_store):
    history = History(small_store)
    with Client(cluster) as client:
        run = engine.DaskRun(client, history)
        try:
            assert set(run.history.frames) == set(engine.CLIENT_TABLES)
            assert set(history.frames) - set(engine.CLIENT_TABLES)  # the rest went out
            assert run.parts == len(run.partitions) >= 2
            # the same companies and the same coded rows as the whole
            for name in engine.CLIENT_TABLES:
                pd.testing.assert_frame_equal(run.history.frames[name], history.frames[name])
        finally:
            run.release()


def test_partitions_fit_the_workers_memory():
    gb = 2**30
    # a small world: one partition per worker thread
    assert engine.partition_count(1_500, 10 * 2**20, threads=2, worker_memory=4 * gb) == 2
    # by companies: at most PARTITION_COMPANIES each
    assert engine.partition_count(3_000_000, 0, threads=2, worker_memory=0) == 12
    # by memory: a 9.6 GB history on 4 GB workers, each partition within a sixteenth of one
    assert engine.partition_count(3_000_000, int(9.6 * gb), threads=2, worker_memory=4 * gb) == 39
    # no limit known: companies and threads decide
    assert engine.partition_count(3_000_000, int(9.6 * gb), threads=16, worker_memory=0) == 16


def test_the_settings_start_a_local_cluster_of_their_size(monkeypatch):
    monkeypatch.delenv("DISCOVERY_DASK_SCHEDULER", raising=False)
    monkeypatch.setenv("DISCOVERY_DASK_WORKERS", "1")
    monkeypatch.setenv("DISCOVERY_DASK_MEMORY_LIMIT", "300MB")
    with engine.dask_client() as client:
        workers = client.scheduler_info()["workers"].values()
        assert [(w["nthreads"], w["memory_limit"]) for w in workers] == [(1, 300_000_000)]
        assert client.submit(sum, [1, 2]).result() == 3

        def fractions(dask_worker):
            m = dask_worker.memory_manager
            return m.memory_target_fraction, m.memory_spill_fraction, m.memory_pause_fraction

        # they spill and pause early, leaving room below the restart at 95 %
        [got] = client.run(fractions).values()
        assert got == (0.4, 0.5, 0.6) == tuple(engine.WORKER_MEMORY.values())


def test_an_unreachable_scheduler_is_one_plain_sentence(small_store, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("DISCOVERY_ENGINE", "dask")
    monkeypatch.setenv("DISCOVERY_DASK_SCHEDULER", address)
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1.0)
    with pytest.raises(UsageError) as caught:
        features.build_features(small_store, AS_OF)
    message = str(caught.value)
    assert message == (
        f"No Dask scheduler answers at {address} (DISCOVERY_DASK_SCHEDULER) within 1 seconds: "
        "start it, or unset the variable to run a local cluster."
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_unknown_engine_is_refused(small_store, monkeypatch):
    with pytest.raises(UsageError, match="must be pandas or dask, not 'spark'"):
        features.build_features(small_store, AS_OF, engine="spark")  # type: ignore[arg-type]
    monkeypatch.setenv("DISCOVERY_ENGINE", "spark")
    with pytest.raises(ValidationError, match="engine"):  # the CLI says it in one sentence
        features.build_features(small_store, AS_OF)


def test_a_family_replaced_in_this_process_is_refused(small_store):
    """Workers import the registry afresh: a swapped family would silently be the original."""
    original = registry.family("supply_chain").compute
    with (
        registry.replaced("supply_chain", original.__call__),
        pytest.raises(UsageError, match=r"\['supply_chain'\] are replaced"),
    ):
        features.build_features(small_store, AS_OF, engine="dask")


def test_answers_are_fetched_in_order_with_few_pending():
    """`bounded` starts a call only when fewer than the in-flight limit per worker are
    pending, so no worker holds all its answers at once waiting to send them."""

    class TwoWorkers:
        def scheduler_info(self):
            return {"workers": {"tcp://a": {}, "tcp://b": {}}}

    pending: list[Answer] = []
    most = 0

    class Answer:
        def __init__(self, value: int) -> None:
            nonlocal most
            self.value = value
            pending.append(self)
            most = max(most, len(pending))

        def result(self) -> int:
            pending.remove(self)
            return self.value

    answers = dask_graph.bounded(TwoWorkers(), (partial(Answer, k) for k in range(11)))
    assert list(answers) == list(range(11))
    assert most == 2 * dask_graph.IN_FLIGHT_PER_WORKER and not pending


def test_a_worker_lost_mid_build_is_one_plain_sentence(small_store, monkeypatch):
    """Dask restarts a worker that passes 95 % of its memory limit, and the partitions
    it held are gone: the build stops with what to change, not with cancelled futures."""
    monkeypatch.delenv("DISCOVERY_DASK_SCHEDULER", raising=False)
    monkeypatch.setenv("DISCOVERY_DASK_WORKERS", "1")
    monkeypatch.setenv("DISCOVERY_DASK_MEMORY_LIMIT", "1GB")
    with pytest.raises(WorkerLostError) as caught, engine.dask_client() as client:
        run = engine.DaskRun(client, History(small_store))
        client.restart()  # every worker restarted, as the memory monitor does to one
        run.families_at(AS_OF, {"profile"}, lambda name: nullcontext())
    message = str(caught.value)
    assert message.startswith("A Dask worker was lost during the feature build (")
    assert "DISCOVERY_DASK_MEMORY_LIMIT, now 1GB, or DISCOVERY_DASK_WORKERS, now 1" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_actor_calls_argument_and_the_blocks_are_let_go(cluster):
    """distributed keeps an actor call's arguments, and an actor's handle, in reference
    cycles. With the garbage collector off, the values sent are gone as soon as the
    answer is in, and the blocks' actors leave the workers once the blocks are released."""
    import gc
    import time
    import weakref

    import numpy as np
    import scipy.sparse as sp

    src = np.array([0, 0, 1, 2, 3, 4, 5], dtype=np.int64)
    dst = np.array([1, 2, 2, 3, 4, 5, 0], dtype=np.int64)
    with Client(cluster) as client:
        blocks = dask_graph.Blocks.of_edges(client, [src], [dst], 6, 2)
        whole = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(6, 6))
        first = np.arange(6, dtype=float)
        # the product through every block, as an iteration asks it
        assert np.array_equal(blocks.times(first), whole @ first)
        [(_, holder), _] = blocks._holders
        cols = blocks.cols[0]
        values = np.arange(6, dtype=float)[cols] + 1.0
        sent = weakref.ref(values)
        gc.disable()
        try:
            call = dask_graph.ActorCall(holder.times, values)
            del values
            answer = call.result()
            assert sent() is None
        finally:
            gc.enable()
        lo, hi = int(blocks.bounds[0]), int(blocks.bounds[1])
        assert np.array_equal(answer, whole[lo:hi] @ (np.arange(6, dtype=float) + 1.0))
        del call, holder
        keys = {f.key for f, _ in blocks._holders}

        def actors(dask_worker):
            return list(dask_worker.state.actors)

        assert keys <= {k for held in client.run(actors).values() for k in held}
        gc.disable()  # the blocks' release must not wait for the collector
        try:
            blocks.release()
            for _ in range(50):  # the scheduler tells the workers in its own time
                left = keys & {k for held in client.run(actors).values() for k in held}
                if not left:
                    break
                time.sleep(0.1)
            assert not left
        finally:
            gc.enable()


def test_the_embedding_on_blocks_is_fastrp_bit_for_bit(cluster):
    """Edges and projection in pieces that do not line up with the blocks, a block with
    no edge, more blocks than workers: the companies' rows are `embedding.fastrp`'s."""
    import numpy as np

    from features import embedding

    rng = np.random.default_rng(5)
    size = 40
    # edges among nodes 0..29 only, both ways: nodes 30..39 have none, so the last of
    # five blocks of 8 rows (32..39) has no edge and reads no other block's rows
    src, dst = rng.integers(0, 30, 120), rng.integers(0, 30, 120)
    src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    projection = rng.choice(np.float32([-1.7, 0.0, 1.7]), size=(size, 8))
    whole = embedding.adjacency_rows(src, dst, size, size)
    expected = embedding.fastrp(whole, projection, embedding.ITERATION_WEIGHTS)
    with Client(cluster) as client:
        adj = dask_graph.Blocks.of_edges(
            client, [src[:77], src[77:]], [dst[:77], dst[77:]], size, 5
        )
        step = dask_graph.Blocks(client, adj.map(dask_graph.step_block), adj.bounds)
        assert [len(c) == 0 for c in step.cols] == [False] * 4 + [True]
        pieces = [projection[:3], projection[3:26], projection[26:]]
        got = step.fastrp(pieces, embedding.ITERATION_WEIGHTS, keep=33)
        step.release()
        adj.release()
    assert got.dtype == expected.dtype == np.float32
    assert np.array_equal(got, expected[:33])
    assert (np.abs(got[:30]).sum(axis=1) > 0).sum() > 20  # the graph propagated something
    assert not got[30:].any()  # nodes without an edge get nothing


def test_a_scheduler_without_workers_is_one_plain_sentence(small_store, monkeypatch):
    with LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        address = empty.scheduler_address
        monkeypatch.setenv("DISCOVERY_ENGINE", "dask")
        monkeypatch.setenv("DISCOVERY_DASK_SCHEDULER", address)
        monkeypatch.setattr(engine, "CONNECT_SECONDS", 1.0)
        with pytest.raises(UsageError) as caught:
            features.build_features(small_store, AS_OF)
    assert str(caught.value) == (
        f"The Dask scheduler at {address} (DISCOVERY_DASK_SCHEDULER) has no workers after "
        f"1 seconds: start some (dask worker {address}), or unset the variable to run a "
        "local cluster."
    )
