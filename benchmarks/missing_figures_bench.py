"""The missing-figure classifiers of a trained world, fitted side by side and one at a time.

    python benchmarks/missing_figures_bench.py /tmp/discovery_bench/world_*_1000000_1_parquet

Training fits, per tier, one small LightGBM classifier per threshold whose figure may
be unknown (`discovery.missing_figures`), on the candidates at the decision date.
For each world that `run.py` left trained (its store and the decision-date snapshot),
this fits them for both tiers as training does (`MissingFigures.fit`) and one at a
time on two LightGBM threads each (the code before), each way three times in turn,
prints the fastest wall seconds of each and checks that the trees are the same.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.lists import worlds_parser  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402


def timed_fits(world: Path) -> list[dict[str, Any]]:
    """Per tier: classifiers fitted, seconds side by side and one at a time, same trees."""
    from discovery import missing_figures
    from discovery.criteria import default_criteria
    from discovery.labels import candidates_at
    from discovery.missing_figures import MissingFigures, unverified_columns
    from discovery.schema import FeatureSchema
    from discovery.snapshots import SnapshotCache

    store, criteria = world_store(world), default_criteria()
    snap = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))(AS_OF)
    out = []
    for tier in TOPS:
        today = candidates_at(store, tier, AS_OF, criteria, snap)
        statuses = unverified_columns(criteria, tier)
        inputs = FeatureSchema.of(today).numeric()
        runs: dict[str, tuple[float, MissingFigures]] = {}
        ways = (("side by side", 1, missing_figures.FIT_THREADS), ("one at a time", 2, 1))
        # each way three times, alternated; the fastest of each is kept
        for name, threads, fit_threads in ways * 3:
            saved = missing_figures.PARAMS["num_threads"], missing_figures.FIT_THREADS
            missing_figures.PARAMS["num_threads"] = threads
            missing_figures.FIT_THREADS = fit_threads
            try:
                start = time.perf_counter()
                learned = MissingFigures.fit([today], statuses, inputs)
                seconds = time.perf_counter() - start
                if name not in runs or seconds < runs[name][0]:
                    runs[name] = (seconds, learned)
            finally:
                missing_figures.PARAMS["num_threads"], missing_figures.FIT_THREADS = saved
        trees = {
            name: [
                c.booster.model_to_string().split("parameters:")[0]
                for c in learned.chances
                if c.booster is not None
            ]
            for name, (_, learned) in runs.items()
        }
        out.append(
            {
                "world": world.name,
                "tier": tier,
                "candidates": len(today),
                "classifiers": len(trees["side by side"]),
                "side_by_side_s": round(runs["side by side"][0], 2),
                "one_at_a_time_s": round(runs["one at a time"][0], 2),
                "same_trees": trees["side by side"] == trees["one at a time"],
            }
        )
    return out


def main() -> None:
    args = worlds_parser(__doc__, "world directories run.py left trained").parse_args()
    for world in args.worlds:
        for row in timed_fits(world):
            print(row, flush=True)


if __name__ == "__main__":
    main()
