"""The scoring model's fits on a two-worker Dask cluster (`lightgbm.dask`).

The trees a cluster fit keeps are those LightGBM's own early stopping would keep; the
fit runs on the workers (the scheduler saw LightGBM's training tasks), prints nothing
on the command's standard output, and a tier trained with it ranks within noise of the
pandas engine's model, with the same gates and threshold statuses.
"""

from __future__ import annotations

from pathlib import Path

import distributed
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from distributed.core import Status
from sklearn.metrics import roc_auc_score

from discovery.cluster_fit import iteration_losses, stopping_iteration
from discovery.model import STOPPING_PATIENCE, booster_params, fit_model
from discovery.ranking import rank
from discovery.registry import Registry
from discovery.training import train_tier
from graph.errors import UsageError
from graph.settings import Settings
from tests.discovery.conftest import AS_OF, TrainedWorld
from tests.recorded_cluster import RecordedCluster

#: a cluster that stops answering fails the test instead of holding CI up
pytestmark = pytest.mark.timeout(600, func_only=True)

ON_TWO = Settings(engine="dask", dask_workers=2, dask_memory_limit="1GB")


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordedCluster]:
    monkeypatch.delenv("DISCOVERY_DASK_SCHEDULER", raising=False)
    monkeypatch.setattr(distributed, "LocalCluster", RecordedCluster)
    RecordedCluster.started.clear()
    return RecordedCluster.started


def examples(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Examples with an interaction, a categorical input, blanks and uneven weights."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"f{i}" for i in range(8)])
    x["kind"] = pd.Categorical(rng.choice(list("abcde"), n), categories=list("abcde"))
    logit = x["f0"] + 0.6 * x["f1"] * x["f2"] + (x["kind"] == "b") - 2.0
    x.loc[rng.random(n) < 0.2, "f3"] = np.nan
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).to_numpy(float)
    w = np.where(y == 1, 1.0, rng.choice([1.0, 3.0], n))
    return x, y, w


@pytest.mark.parametrize("patience", [STOPPING_PATIENCE, 5, 1000])
def test_the_trees_kept_are_lightgbms_early_stopping(patience: int) -> None:
    x, y, w = examples(6000, 1)
    xv, yv, wv = examples(2000, 2)
    params = {**booster_params(), "learning_rate": 0.2}
    trees = params.pop("num_iterations")
    full = lgb.train(params, lgb.Dataset(x, label=y, weight=w), trees)
    stopped = lgb.train(
        {**params, "metric": "binary_logloss"},
        lgb.Dataset(x, label=y, weight=w),
        trees,
        valid_sets=[lgb.Dataset(xv, label=yv, weight=wv)],
        callbacks=[lgb.early_stopping(patience, verbose=False)],
    )
    kept = stopping_iteration(full, xv, yv, wv, patience)
    assert kept == (stopped.best_iteration or trees)
    losses = iteration_losses(full, xv, yv, wv)
    assert len(losses) == trees and kept < trees  # past the best, the loss rises
    if patience >= trees:  # never stopped: the best of all the trees
        assert kept == int(np.argmin(losses)) + 1
    # the loss after the last tree is the booster's own prediction's
    raw = full.predict(xv, raw_score=True)
    direct = np.average(np.logaddexp(0.0, raw) - yv * raw, weights=wv)
    assert losses[-1] == pytest.approx(direct, rel=1e-12)


def test_a_fit_on_two_workers_is_lightgbm_dask_and_as_good(
    recorded: list[RecordedCluster], capfd: pytest.CaptureFixture[str]
) -> None:
    x, y, w = examples(12_000, 3)
    xt, yt, _ = examples(6000, 4)
    local = fit_model(x, y, w, stop_early=True, settings=Settings(engine="pandas"))
    assert recorded == []
    first = fit_model(x, y, w, stop_early=True, settings=ON_TWO)
    again = fit_model(x, y, w, stop_early=True, settings=ON_TWO)

    assert len(recorded) == 2
    for cluster in recorded:
        assert cluster.workers_seen == 2
        assert "train_part" in cluster.tasks_seen  # lightgbm.dask's training on the workers
        assert cluster.status == Status.closed
    assert distributed.client._get_global_client() is None
    # chosen by the stopping slice, at most the recipe's trees, the same on a rerun
    assert first.stopped_at is not None and first.stopped_at <= booster_params()["num_iterations"]
    assert first.booster.num_trees() == first.stopped_at
    assert first.rows == local.rows < len(y)
    text = first.booster.model_to_string()
    assert text == again.booster.model_to_string()
    assert "[num_machines: 2]" in text and "machines: 127." not in text and "_port:" not in text
    # a plain booster that reads the same categories, as good as one process's
    assert first.booster.pandas_categorical == local.booster.pandas_categorical
    auc = {n: roc_auc_score(yt, f.booster.predict(xt)) for n, f in [("d", first), ("l", local)]}
    assert auc["d"] > 0.7 and abs(auc["d"] - auc["l"]) < 0.01, auc
    # nothing on the command's standard output: the workers' notes go elsewhere
    out = capfd.readouterr().out
    assert "LightGBM" not in out and "ports" not in out, out


def test_a_tier_trained_on_the_cluster_ranks_within_noise(
    trained_world: TrainedWorld,
    recorded: list[RecordedCluster],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = trained_world
    tier, top = "specialized_sme", 80
    # the snapshots are the session's (the engines build equal tables: features tests);
    # only the fits move to the cluster
    monkeypatch.setattr(w.snapshots, "settings", ON_TWO)
    registry = Registry(tmp_path / "models")
    result = train_tier(w.store, tier, AS_OF, w.criteria, registry, snapshots=w.snapshots)
    assert len(recorded) == 2  # the held-out fit and the serving refit
    assert all("train_part" in c.tasks_seen for c in recorded)

    lists = {
        name: rank(w.store, tier, AS_OF, reg, w.criteria, top=top, features=w.snapshots(AS_OF))
        for name, reg in (("pandas", w.registry), ("dask", registry))
    }
    frames = {name: lst.frame.set_index("uscc") for name, lst in lists.items()}
    qualifies = w.truth[f"qualifies_{tier}"]
    hits = {name: int(qualifies.loc[f.index].sum()) for name, f in frames.items()}
    assert hits["dask"] >= hits["pandas"] - 4, hits  # within noise of 80
    assert hits["dask"] > 0.6 * top, hits
    # the lists' gates and threshold checks come from the features, not the fits
    both = frames["pandas"].index.intersection(frames["dask"].index)
    assert len(both) > top // 2
    checks = [c for c in frames["pandas"].columns if c.startswith("check_")]
    assert checks
    assert frames["pandas"].loc[both, checks].equals(frames["dask"].loc[both, checks])
    pandas_card = w.results[tier].card
    auc = {n: c["metrics"]["primary"] for n, c in (("p", pandas_card), ("d", result.card))}
    assert abs(auc["p"] - auc["d"]) < 0.03, auc


def test_a_cluster_without_workers_to_fit_on_is_one_plain_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from features import engine

    x, y, w = examples(200, 5)
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        address = empty.scheduler_address
        monkeypatch.setattr(engine, "CONNECT_SECONDS", 1.0)
        settings = Settings(engine="dask", dask_scheduler=address)
        with pytest.raises(UsageError, match=f"The Dask scheduler at {address} .* no workers"):
            fit_model(x, y, w, settings=settings)
