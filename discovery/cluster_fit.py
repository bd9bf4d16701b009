"""The recipe's LightGBM fits on the Dask cluster (`DISCOVERY_ENGINE=dask`): `lightgbm.dask`.

With the dask engine the scoring model's two fits (the held-out model, which chooses
the trees, and the serving model refit on every round) run on the cluster's workers
as one data-parallel LightGBM training (`lightgbm.DaskLGBMClassifier`): each worker
holds a share of the examples, and the workers sum their histograms over LightGBM's
own network. The driver keeps only the booster it gets back.

- **Shares.** The examples are dealt to the workers row by row (row i to share
  i mod n), not cut into contiguous ranges: the examples come ordered by round, and in
  data-parallel training each worker finds the bins of a part of the features from
  its own rows, so every share must look like the whole (a share of old rounds alone
  would lend bins that miss the newest values, where a list's top companies are).
- **Trees.** `lightgbm.dask` has no early stopping (its workers would stop apart and
  wait on each other). The fit grows the recipe's number of trees and the driver reads
  the weighted log-loss of the stopping slice after every tree from one pass over the
  slice's leaves (`stopping_iteration`), stopping where LightGBM's
  `early_stopping(patience)` would; the trees after it are cut off. The answer is
  LightGBM's own for the same trees (a test holds it to `lgb.early_stopping`).

The bins and the sums differ from one process's, so a cluster's booster is not the
pandas engine's tree for tree: its lists are within noise of them, not equal (the
feature tables are equal; `features.engine`). The quality estimate and the small
missing-figure classifiers stay in the driver: they learn from bounded samples.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from graph.settings import Settings

#: columns the examples travel with, beside the model's inputs
LABEL, WEIGHT = "__label__", "__weight__"
#: where LightGBM's Python-side messages go once a fit has run on the cluster: its
#: notes ("Finding random open ports for workers") at debug level, never on standard
#: output, which is the command's own (its answers, `status --json`)
LOG = logging.getLogger("lightgbm")
#: the lines of a model's parameters that name the fit's own network (addresses, ports)
NETWORK_LINES = re.compile(r"^\[(machines|local_listen_port): [^\n]*\]\n", re.MULTILINE)


class _Expected(logging.Filter):
    """Drops the warning `lightgbm.dask` gives for the worker threads it sets itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "n_jobs will be ignored" not in record.getMessage()


LOG.addFilter(_Expected())


def fit_on_cluster(
    x: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    params: Mapping[str, Any],
    trees: int,
    settings: Settings | None = None,
) -> lgb.Booster:
    """`trees` trees of `params` fitted on the examples by the settings' Dask cluster.

    The client is that of `features.engine.dask_client` (the scheduler of
    `DISCOVERY_DASK_SCHEDULER`, or a local cluster of the settings' size), open for the
    fit alone."""
    import dask.dataframe as dd
    from distributed import wait

    from features.engine import dask_client

    quiet_lightgbm()
    frame = x.reset_index(drop=True)
    frame[LABEL] = np.asarray(y, dtype=float)
    frame[WEIGHT] = np.asarray(w, dtype=float)
    with dask_client(settings) as client:
        workers = sorted(client.scheduler_info()["workers"])
        # the workers' notes too; on their task threads, where the fit will run
        client.gather([client.submit(quiet_lightgbm, workers=[a], pure=False) for a in workers])
        n = max(1, min(len(workers), len(frame)))
        shares = [frame.iloc[i::n] for i in range(n)]
        # straight to the workers when the client talks to them directly (a local
        # cluster's does), through the scheduler when it cannot reach them
        futures = [
            client.scatter(share, workers=[worker])
            for share, worker in zip(shares, workers, strict=False)
        ]
        wait(futures)
        data = dd.from_delayed(futures, meta=frame.iloc[:0], verify_meta=False)
        del shares, frame
        ordered: Any = InOrder(client)  # a Client to lightgbm.dask
        model = lgb.DaskLGBMClassifier(
            client=ordered, n_estimators=trees, **_sklearn_params(params)
        )
        model.fit(
            data[list(x.columns)],
            data[LABEL],
            sample_weight=data[WEIGHT],
            categorical_feature="auto",
        )
        booster: lgb.Booster = model.booster_
    # a plain booster, as `lgb.train` returns it: stored, scored and explained alike; the
    # workers' addresses of this one fit (its parameters' text) are no part of the model
    text = NETWORK_LINES.sub("", booster.model_to_string())
    return lgb.Booster(model_str=text)


class InOrder:
    """The Dask client as `lightgbm.dask` sees it: the same, but where the data's parts
    lie is answered in the parts' order.

    `lightgbm.dask` ranks the workers in the order the client names the parts' places,
    and in data-parallel training each rank bins a part of the features from its own
    share, so that order decides the bins. The client answers in the order of a set of
    keys, which changes from one process to the next; in the parts' order, share i is
    rank i and a rerun fits the same trees."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def who_has(self, futures: Any = None, **kwargs: Any) -> dict[Any, Any]:
        places = self._client.who_has(futures, **kwargs)
        return {f.key: places[f.key] for f in futures}


def quiet_lightgbm() -> None:
    """LightGBM's notes to `LOG` at debug level, in this process; and its library's quiet
    on this thread (its log level is per thread, and the network's notes come before a
    fit's own `verbose` applies)."""
    lgb.register_logger(LOG, info_method_name="debug")
    lgb.Dataset(np.zeros((2, 1)), label=[0, 1], params={"verbose": -1}).construct()


def _sklearn_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe's parameters for the scikit-learn interface: LightGBM's own names are
    taken as given; the trees travel as `n_estimators`; the threads are each worker's
    (`lightgbm.dask` sets them)."""
    return {k: v for k, v in params.items() if k not in ("num_threads", "num_iterations")}


def stopping_iteration(
    booster: lgb.Booster,
    x: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    patience: int,
) -> int:
    """The trees `lgb.early_stopping(patience)` would keep had `(x, y, w)` been the
    validation set: the first tree at which the weighted binary log-loss is least,
    growth stopping `patience` trees without a better one."""
    losses = iteration_losses(booster, x, y, w)
    best, best_at = np.inf, 0
    for i, loss in enumerate(losses):
        if loss < best:
            best, best_at = float(loss), i
        elif i - best_at >= patience:
            break
    return best_at + 1


def iteration_losses(
    booster: lgb.Booster, x: pd.DataFrame, y: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """The weighted binary log-loss of `(x, y, w)` after each of the booster's trees, from
    one pass over the rows' leaves (the raw score after k trees is the sum of the first
    k trees' leaf values; the trees' table of leaf values is small)."""
    trees = booster.num_trees()
    if trees == 0 or len(y) == 0:
        return np.zeros(0)
    leaves = np.asarray(booster.predict(x, pred_leaf=True), dtype=np.int64).reshape(len(y), trees)
    info = booster.dump_model(num_iteration=-1)["tree_info"]
    values = np.zeros((trees, max(t["num_leaves"] for t in info)))
    for t, tree in enumerate(info):  # a tree's leaves: one row of the table
        values[t, : tree["num_leaves"]] = [
            booster.get_leaf_output(t, leaf) for leaf in range(tree["num_leaves"])
        ]
    raw = np.cumsum(values[np.arange(trees), leaves], axis=1)  # rows × trees
    yv = np.asarray(y, dtype=float)[:, None]
    wv = np.asarray(w, dtype=float)
    loss = np.logaddexp(0.0, raw) - yv * raw  # −log p(y) for the logistic link
    return np.asarray((wv @ loss) / wv.sum(), dtype=float)
