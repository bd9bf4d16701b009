"""Our stages, each run by `run.py --stage NAME` in its own process.

simulate → ingest (validate + load the embedded store) → features (the decision-date
snapshot alone, per family) → train (both tiers) → rank (both tiers). Each returns a
JSON-able dict that the child prints as its last line. Train and rank also report
where their time went: per feature family over the snapshot dates, the quality-score
estimate, LightGBM fits and reasons.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.lists import write_list
from benchmarks.plan import AS_OF, TOPS


def world_store(world: Path):
    """The embedded store the ingest stage loads the world into."""
    from graph.embedded import EmbeddedStore

    return EmbeddedStore(world / "store")


def _timed(module: Any, attr: str, acc: dict[str, float], key: str) -> None:
    """Accumulate the seconds spent in `module.attr` into `acc[key]`."""
    original = getattr(module, attr)

    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            acc[key] += time.perf_counter() - t0

    setattr(module, attr, wrapper)


def _time_feature_builds(acc: dict[str, float]) -> None:
    """Where train and rank spend their time: per feature family (summed over snapshot
    dates, `history` being the one read of the store they share), the quality-score
    estimate of each snapshot, LightGBM fits, reasons."""
    import discovery.model as dm
    import discovery.ranking as dr
    import discovery.training as dt
    import features

    original = dm.build_features
    original_at = features.iter_features_at

    def timed(store, as_of, thresholds=(), **kw):
        t: dict[str, dict[str, float]] = {}
        frame = original(store, as_of, thresholds, timings=t, **kw)
        for name, row in t.items():
            acc[name] += row["seconds"]
        acc["snapshots"] += 1
        return frame

    def timed_at(store, dates, thresholds=(), **kw):
        # the caller may stop after the last date it asked for: count as the dates come
        t: dict[str, dict[str, float]] = {}
        before = dict(acc)
        for item in original_at(store, dates, thresholds, timings=t, **kw):
            acc["snapshots"] += 1
            for name, row in t.items():
                acc[name] = before.get(name, 0.0) + row["seconds"]
            yield item

    dm.build_features = timed
    features.iter_features_at = timed_at
    _timed(dm, "estimate_quality", acc, "quality_estimate")
    _timed(dt, "fit_model", acc, "lightgbm_fit")
    _timed(dr, "explain_reasons", acc, "reasons")


def stage_simulate(a: argparse.Namespace) -> dict:
    from benchmarks.outside_economy import VARIANTS, generate
    from discovery.simulation import simulate

    world = Path(a.world)
    shutil.rmtree(world / "data", ignore_errors=True)
    if a.world_scenario in VARIANTS:  # the economy our simulator did not make
        made = generate(
            a.companies,
            a.seed,
            world / "data",
            world / "truth.csv",
            variant=a.world_scenario,
            end=str(AS_OF),
            fmt=a.format,
        )
        return {**made, "patents_densified": None}
    summary = simulate(
        a.companies,
        a.seed,
        world / "data",
        world / "truth.csv",
        end=AS_OF,
        fmt=a.format,
        scenario=a.world_scenario,
    )
    rows = dict(summary.rows)
    patents = None
    if getattr(a, "patent_rows", None):
        import numpy as np

        from benchmarks.densify import densify_patents

        patents = densify_patents(world / "data", a.patent_rows, np.datetime64(AS_OF), a.seed)
        rows["patents"] = patents["after"]
    return {
        "scenario": summary.scenario,
        "rows": rows,
        "patents_densified": patents,
        "candidates": summary.candidates,
        "qualifiers": summary.qualifiers,
        "holders": summary.holders,
    }


def stage_ingest(a: argparse.Namespace) -> dict:
    from features.build import Meter
    from graph.loading import write_rejects
    from graph.validation import read_directory

    world = Path(a.world)
    shutil.rmtree(world / "store", ignore_errors=True)
    steps: dict[str, dict[str, float]] = {}
    meter = Meter(steps)
    with meter("validate"):
        batch = read_directory(world / "data")
        write_rejects(batch.rejects, world / "rejects.csv")
    with meter("load"):
        result = world_store(world).load(batch)
    meter.finish()
    return {
        "steps": steps,
        "rejected": len(batch.rejects),
        "rows": result.after,
        "workers": batch.workers,
    }


def stage_features(a: argparse.Namespace) -> dict:
    from discovery.criteria import default_criteria
    from discovery.model import threshold_specs
    from features import build_features

    store = world_store(Path(a.world))
    timings: dict[str, dict[str, float]] = {}
    frame = build_features(store, AS_OF, threshold_specs(default_criteria()), timings=timings)
    return {"families": timings, "rows": len(frame), "columns": frame.shape[1] - 1}


def snapshot_folder(world: Path, variant: str) -> Path:
    """Where a pipeline's train stage keeps its feature snapshots for its rank stage."""
    return world / f"snapshots_{variant}"


def setup(a: argparse.Namespace) -> tuple[Path, Any, Any, dict]:
    """A stage's world, store and criteria, with feature builds timed into the returned dict."""
    from discovery.criteria import default_criteria

    acc: dict[str, float] = defaultdict(float)
    _time_feature_builds(acc)
    world = Path(a.world)
    return world, world_store(world), default_criteria(), acc


def train_models(a: argparse.Namespace, variant: str) -> dict:
    """Both tiers trained into `<world>/models_<variant>`, with seconds and validation AUC."""
    from discovery.registry import Registry
    from discovery.training import NotEnoughEvidence, SnapshotCache, train_tier

    world, store, criteria, acc = setup(a)
    models = world / f"models_{variant}"
    shutil.rmtree(models, ignore_errors=True)
    registry = Registry(models)
    # as `discovery train` keeps them under $DISCOVERY_HOME for `discovery rank`
    shutil.rmtree(snapshot_folder(world, variant), ignore_errors=True)
    snapshots = SnapshotCache(store, criteria, snapshot_folder(world, variant))
    out: dict[str, Any] = {"tiers": {}}
    for tier in TOPS:
        t0 = time.perf_counter()
        try:
            res = train_tier(
                store, tier, AS_OF, criteria, registry, snapshots=snapshots, force=True
            )
            m = res.card["metrics"]
            out["tiers"][tier] = {
                "seconds": time.perf_counter() - t0,
                "validation_auc": m["model"]["auc_direct_evidence"],
                "validation_round": res.card["validation_round"]["as_of"],
                "promoted": res.promoted,
            }
        except NotEnoughEvidence as exc:
            out["tiers"][tier] = {"seconds": time.perf_counter() - t0, "error": str(exc)}
    out["feature_seconds"] = dict(acc)
    return out


def rank_lists(a: argparse.Namespace, variant: str) -> dict:
    """Both tiers ranked with the models of `train_models(a, variant)`, lists written.

    The snapshot at the decision date is the one training left on disk, as `discovery
    rank` finds it after `discovery train` (built here when it is not there)."""
    from discovery.ranking import rank
    from discovery.registry import Registry
    from discovery.snapshots import SnapshotCache
    from features.build import Meter
    from features.context import TablesAt

    world, store, criteria, acc = setup(a)
    registry = Registry(world / f"models_{variant}")
    steps: dict[str, dict[str, float]] = {}
    meter = Meter(steps)
    with meter("snapshot"):
        snap = SnapshotCache(store, criteria, snapshot_folder(world, variant))(AS_OF)
    out: dict[str, Any] = {"tiers": {}}
    tables = TablesAt(store, AS_OF)
    for tier, top in TOPS.items():
        if registry.serving(tier) is None:
            out["tiers"][tier] = {"error": "no model (training had too little evidence)"}
            write_list(world, variant, tier, [])
            continue
        with meter(f"rank_{tier}"):
            # the tiers share one read of the tables, as `discovery.Workspace` shares it
            ranked = rank(
                store, tier, AS_OF, registry, criteria, top=top, features=snap, tables=tables
            )
        write_list(world, variant, tier, [str(c) for c in ranked.frame["uscc"]])
        out["tiers"][tier] = {
            "candidates": ranked.summary["candidates"],
            "known_to_miss_a_threshold": ranked.summary["known_to_miss_a_threshold"],
            "listed": ranked.summary["listed"],
            # the list's own forecast of its hits: the sum of the chances it shows
            "expected_hits": float(ranked.frame["score"].sum()),
        }
    meter.finish()
    out["steps"] = steps
    out["feature_seconds"] = dict(acc)
    return out


def stage_train(a):
    return train_models(a, "ours")


def stage_rank(a):
    return rank_lists(a, "ours")


STAGES = {
    "simulate": stage_simulate,
    "ingest": stage_ingest,
    "features": stage_features,
    "train": stage_train,
    "rank": stage_rank,
}
