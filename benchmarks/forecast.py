"""Does a list's forecast hold on the companies it goes to?

    python benchmarks/forecast.py /tmp/discovery_bench/world_*_20000_7_parquet

Every listed company shows officials a chance of approval (the `score` column: the
calibrated probability times the chance its unknown thresholds are met). The sum of
those chances is the list's own forecast of its hits. The calibration is fitted on
applicants, who select themselves; the list goes to companies that did not apply, so
the forecast can drift from the truth in either direction. For each world that
`run.py` left trained (its store, `models_ours`, the decision-date snapshot and
`truth.csv`), this ranks both tiers again with the serving models, exactly as the rank
stage does, and prints hits against the forecast, and the same over the listed
companies that never applied.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.lists import truth_flag, worlds_parser  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402


def forecast(world: Path) -> list[dict[str, Any]]:
    """Per tier: listed, hits and forecast hits, over the list and its non-applicants, of
    a world `run.py` left trained."""
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.registry import Registry
    from discovery.snapshots import SnapshotCache

    store, criteria = world_store(world), default_criteria()
    snap = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))(AS_OF)
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    rows = forecast_lists(store, Registry(world / "models_ours"), criteria, snap, truth)
    return [{"world": world.name, **row} for row in rows]


def forecast_lists(
    store: Any, registry: Any, criteria: Any, snapshot: Any, truth: Any
) -> list[dict[str, Any]]:
    """Both tiers ranked at `AS_OF` with the serving models of `registry` (as the rank
    stage does), against `truth` (`qualifies_<tier>`, `applied_<tier>` per credit code)."""
    from discovery.ranking import rank

    out = []
    for tier, top in TOPS.items():
        if registry.serving(tier) is None:
            continue
        frame = rank(store, tier, AS_OF, registry, criteria, top=top, features=snapshot).frame
        codes = frame["uscc"].astype(str).tolist()
        hit = truth_flag(truth, f"qualifies_{tier}", codes)
        fresh = ~truth_flag(truth, f"applied_{tier}", codes)
        chance = frame["score"].to_numpy(dtype=float)
        out.append(
            {
                "tier": tier,
                "listed": len(frame),
                "hits": int(hit.sum()),
                "forecast": float(chance.sum()),
                "non_applicants": int(fresh.sum()),
                "non_applicant_hits": int((hit & fresh).sum()),
                "non_applicant_forecast": float(chance[fresh].sum()),
            }
        )
    return out


def main() -> None:
    parser = worlds_parser(__doc__, "world directories of run.py")
    args = parser.parse_args()
    print(
        "| world | tier | listed | hits | forecast | non-applicants | their hits | their forecast |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    totals: dict[str, list[float]] = {}
    for world in args.worlds:
        for r in forecast(world):
            print(
                f"| {r['world']} | {r['tier']} | {r['listed']} | {r['hits']} | "
                f"{r['forecast']:.1f} | {r['non_applicants']} | {r['non_applicant_hits']} | "
                f"{r['non_applicant_forecast']:.1f} |",
                flush=True,
            )
            t = totals.setdefault(r["tier"], [0, 0.0, 0])
            t[0] += r["hits"]
            t[1] += r["forecast"]
            t[2] += 1
    for tier, (hits, fc, n) in totals.items():
        print(f"\n{tier}: {n} lists, {hits:.0f} hits against a forecast of {fc:.1f}")


if __name__ == "__main__":
    main()
