"""`benchmarks/rounds.py`: a trained world's lists again with fewer, newer rounds."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.forecast import forecast_lists
from benchmarks.lists import write_list
from benchmarks.plan import TOPS
from benchmarks.rounds import compare
from discovery.registry import Registry
from tests.discovery.conftest import AS_OF, TrainedWorld


def test_fewer_rounds_are_trained_beside_todays_models_and_scored_the_same_way(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    w = trained_world
    # a world laid out as `run.py` leaves it: store, models, truth, the rule's lists
    world = tmp_path / "world"
    world.mkdir()
    (world / "store").symlink_to(w.store.root)
    shutil.copytree(w.registry.root, world / "models_ours")
    shutil.copy(w.data.parent / "truth.csv", world / "truth.csv")
    for tier in TOPS:
        write_list(world, "thresholds_rule", tier, list(w.truth.index[:3]))
    rows = compare(world, per_million=1)  # one approval is enough: one training round
    assert [r["tier"] for r in rows] == list(TOPS)
    snapshot = w.snapshots(AS_OF)
    fewer = {
        r["tier"]: r
        for r in forecast_lists(
            w.store, Registry(world / "models_rounds"), w.criteria, snapshot, w.truth
        )
    }
    today = {
        r["tier"]: r for r in forecast_lists(w.store, w.registry, w.criteria, snapshot, w.truth)
    }
    for r in rows:
        tier = r["tier"]
        assert r["enough"] == 1
        assert r["fewer_rounds"] == 1 < r["today_rounds"]
        assert r["today_rounds"] == len(w.results[tier].card["train_rounds"])
        assert (r["today_hits"], r["fewer_hits"]) == (today[tier]["hits"], fewer[tier]["hits"])
        assert abs(r["fewer_forecast"] - fewer[tier]["forecast"]) < 1e-9
        assert r["rule_hits"] == int(w.truth.loc[w.truth.index[:3], f"qualifies_{tier}"].sum())
