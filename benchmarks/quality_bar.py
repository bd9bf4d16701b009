"""Does the quality bar's chance hold on the companies a list goes to?

    python benchmarks/quality_bar.py /tmp/discovery_bench/world_file_standard_200000_*_parquet

Where a candidate's quality score is not published, the list ranks and shows it by
the chance that its estimated score clears the tier's bar, Φ((estimate − cut) / σ)
(`discovery.quality.QualityBar`). For each world that `run.py` left trained, and per
tier, this sets that chance against the world's true scores (`truth.csv`), over the
gated candidates at the decision date whose score is estimated:

- the estimate's error (true − estimate) there, beside its out-of-fold error on every
  published score and on the published scores of the tier's candidates, from which σ
  can be measured;
- near the bar (estimate within 10 points of it), the share that clears against the
  mean chance, and the Brier score of the chance; far above it (10 points or more),
  how many miss against how many the chance expects;
- each measured once with the serving model's σ and once with σ from every
  published score, with the list each gives (hits of the top 200 / 50, ranked as
  `discovery rank` ranks: visible misses left out, the rest by calibrated score).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.lists import worlds_parser  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402

#: points either side of the bar that count as "near" it
NEAR = 10.0


def _rmse(r: Any) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(r**2))) if len(r) else float("nan")


def check_world(world: Path) -> list[dict[str, Any]]:
    """Per tier: the estimate's error by population and the bar's chance against the truth."""
    import numpy as np
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.labels import gate
    from discovery.metrics import list_order
    from discovery.model import ScoringModel
    from discovery.quality import ESTIMATE_COLUMN, SCORE_COLUMN, QualityBar
    from discovery.ranking import threshold_status
    from discovery.registry import Registry
    from discovery.snapshots import SnapshotCache
    from discovery.standard_check import below_any_floor

    store, criteria = world_store(world), default_criteria()
    snap = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))(AS_OF)
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    registry = Registry(world / "models_ours")
    out = []
    for tier, top in TOPS.items():
        serving = registry.serving(tier)
        if serving is None:
            continue
        model = ScoringModel.load(serving)
        if model.bar.cut is None:
            continue
        gates = gate(store, tier, AS_OF, criteria)
        x = snap.loc[gates.index[gates["eligible"].to_numpy()]]
        true_q = truth.loc[x.index, "quality_score"].to_numpy(dtype=float)
        qualifies = truth.loc[x.index, f"qualifies_{tier}"].to_numpy(dtype=bool)
        thresholds = list(criteria.thresholds_for(tier))
        misses = (threshold_status(x, thresholds) == 0).any(axis=1).to_numpy()
        floors = list(model.floors) if criteria.empirical_floors.use != "ignore" else []
        below = below_any_floor(x, floors)
        published = x[SCORE_COLUMN].to_numpy(dtype=float)
        estimate = x[ESTIMATE_COLUMN].to_numpy(dtype=float)
        estimated = np.isnan(published) & ~np.isnan(estimate)
        oof = ~np.isnan(published) & ~np.isnan(estimate)
        cut = float(model.bar.cut)
        # σ as training measured it before it was read from the candidates: every company's
        every_company = QualityBar.fit(snap, cut, model.bar.strict)
        clears = true_q > cut if model.bar.strict else true_q >= cut
        near = estimated & (np.abs(estimate - cut) < NEAR)
        far = estimated & (estimate >= cut + NEAR)
        booster, unknown = model.booster_raw(x), model.unknown_factor(x)
        row: dict[str, Any] = {
            "world": world.name,
            "tier": tier,
            "candidates": len(x),
            "estimated": int(estimated.sum()),
            "error_all_published": every_company.sigma or float("nan"),
            "error_candidates_published": _rmse(published[oof] - estimate[oof]),
            "candidates_published": int(oof.sum()),
            "error_candidates_estimated": _rmse(true_q[estimated] - estimate[estimated]),
            "bias_candidates_estimated": float(np.mean(true_q[estimated] - estimate[estimated])),
            "near": int(near.sum()),
            "near_clear_share": float(clears[near].mean()) if near.any() else float("nan"),
            "far": int(far.sum()),
            "far_misses": int((~clears[far]).sum()),
        }
        for name, bar in (
            ("serving", model.bar),
            ("all_published", every_company),
        ):
            chance = bar(x)
            score = model.calibration(booster * chance) * unknown
            order = list_order(score, misses, below, criteria.empirical_floors.use)[:top]
            row[f"{name}_sigma"] = float(bar.sigma or float("nan"))
            row[f"{name}_near_chance"] = float(chance[near].mean()) if near.any() else float("nan")
            row[f"{name}_near_brier"] = (
                float(np.mean((chance[near] - clears[near]) ** 2)) if near.any() else float("nan")
            )
            row[f"{name}_far_expected_misses"] = float(np.sum(1 - chance[far]))
            row[f"{name}_hits"] = int(qualifies[order].sum())
            row[f"{name}_listed"] = len(order)
            row[f"{name}_listed_estimated"] = int(estimated[order].sum())
        out.append(row)
    return out


def main() -> None:
    parser = worlds_parser(__doc__, "world directories of run.py")
    args = parser.parse_args()
    print(
        "| world | tier | σ: all published / candidates published (n) / candidates "
        "estimated, true − est. (mean) | near the bar: n, share clearing, mean chance "
        "serving / all-published σ | Brier serving / all | far above: n, misses, expected "
        "serving / all | list hits serving / all (estimated listed) |"
    )
    print("|---|---|---|---|---|---|---|")
    for world in args.worlds:
        for r in check_world(world):
            print(
                f"| {r['world']} | {r['tier']} | {r['error_all_published']:.2f} / "
                f"{r['error_candidates_published']:.2f} ({r['candidates_published']:,}) / "
                f"{r['error_candidates_estimated']:.2f} ({r['bias_candidates_estimated']:+.2f}) "
                f"| {r['near']:,}, {r['near_clear_share']:.3f}, "
                f"{r['serving_near_chance']:.3f} / {r['all_published_near_chance']:.3f} "
                f"| {r['serving_near_brier']:.4f} / {r['all_published_near_brier']:.4f} "
                f"| {r['far']:,}, {r['far_misses']}, {r['serving_far_expected_misses']:.1f} / "
                f"{r['all_published_far_expected_misses']:.1f} "
                f"| {r['serving_hits']}/{r['serving_listed']} "
                f"({r['serving_listed_estimated']}) / {r['all_published_hits']}/"
                f"{r['all_published_listed']} ({r['all_published_listed_estimated']}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
