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
- on the companies the chance is shown for (estimated score, no threshold visibly
  missed): the share clearing, the mean chance and its Brier score;
- each measured with the serving model's σ, with σ from the published scores of the
  tier's candidates, with σ from every published score, and with σ from the scores
  published after a past round by its candidates whose score was estimated then and
  who visibly missed no threshold (`later_errors`: the serving model's rounds, each
  against the next, what training could measure), with the list each gives
  (hits of the top 200 / 50, ranked as `discovery rank` ranks: visible misses left out,
  the rest by calibrated score).

`--models` names the folder of trained models in each world (`models_ours`, what
`run.py` trained; `models_smallest`, what `unknown_figures.py` retrained).
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


#: the σ each row is measured with, in the table's words
SIGMAS = {
    "serving": "the serving model's",
    "candidates_published": "published scores of the candidates",
    "all_published": "every published score",
    "published_later": "scores published after a round",
}


def later_errors(pairs: list[tuple[Any, Any]], visible: list[str]) -> Any:
    """Per earlier round's candidate whose score was estimated then, with no threshold
    in `visible` (status columns) missed, and whose score a later round publishes: the
    published score minus the earlier estimate. `pairs` holds (candidates then, every
    company later), both indexed by credit code."""
    import numpy as np

    from discovery.quality import ESTIMATE_COLUMN, SCORE_COLUMN

    out = []
    for then, after in pairs:
        missed = (then[[c for c in visible if c in then]].to_numpy(dtype=float) == 0).any(axis=1)
        later = after[SCORE_COLUMN].reindex(then.index).to_numpy(dtype=float)
        estimate = then[ESTIMATE_COLUMN].to_numpy(dtype=float)
        unpublished = then[SCORE_COLUMN].isna().to_numpy()
        use = ~missed & unpublished & ~np.isnan(estimate) & ~np.isnan(later)
        out.append(later[use] - estimate[use])
    return np.concatenate(out) if out else np.zeros(0)


def later_bar(
    store: Any, criteria: Any, snapshots: Any, tier: str, card: dict, bar: Any
) -> tuple[Any, Any]:
    """The serving bar with σ the RMS of `later_errors` over the model's rounds (the
    serving bar itself when fewer than 30 errors are measured), and the errors."""
    import dataclasses
    from datetime import date
    from itertools import pairwise

    from discovery.labels import gate
    from discovery.missing_figures import unverified_columns
    from discovery.quality import MIN_KNOWN

    rounds = [r["as_of"] for r in [*card["train_rounds"], card["validation_round"]]]
    dates = sorted({date.fromisoformat(d) for d in rounds})
    pairs = []
    for then, after in pairwise(dates):
        gates = gate(store, tier, then, criteria)
        snap = snapshots(then)
        pairs.append((snap.loc[gates.index[gates["eligible"].to_numpy()]], snapshots(after)))
    errors = later_errors(pairs, unverified_columns(criteria, tier))
    if len(errors) < MIN_KNOWN:
        return bar, errors
    later = dataclasses.replace(
        bar, sigma=_rmse(errors), sigma_from="published later", evidence=len(errors)
    )
    return later, errors


def check_world(world: Path, models: str = "models_ours") -> list[dict[str, Any]]:
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
    snapshots = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))
    snap = snapshots(AS_OF)
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    registry = Registry(world / models)
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
        # σ as training measured it before: the published candidates', every company's
        every_company = QualityBar.fit(snap, cut, model.bar.strict)
        of_candidates = QualityBar.fit(snap, cut, model.bar.strict, candidates=x)
        clears = true_q > cut if model.bar.strict else true_q >= cut
        near = estimated & (np.abs(estimate - cut) < NEAR)
        far = estimated & (estimate >= cut + NEAR)
        shown = estimated & ~misses
        booster, unknown = model.booster_raw(x), model.unknown_factor(x)
        card = serving.bundle["card"]
        later, errors = later_bar(store, criteria, snapshots, tier, card, model.bar)
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
            "shown": int(shown.sum()),
            "shown_clear_share": float(clears[shown].mean()) if shown.any() else float("nan"),
            "shown_error": _rmse(true_q[shown] - estimate[shown]),
            "later": len(errors),
            "later_mean": float(np.mean(errors)) if len(errors) else float("nan"),
        }
        bars = (model.bar, of_candidates, every_company, later)
        for name, bar in zip(SIGMAS, bars, strict=True):
            chance = bar(x)
            score = model.calibration(booster * chance) * unknown
            order = list_order(score, misses, below, criteria.empirical_floors.use)[:top]
            row[f"{name}_sigma"] = float(bar.sigma or float("nan"))
            row[f"{name}_near_chance"] = float(chance[near].mean()) if near.any() else float("nan")
            row[f"{name}_near_brier"] = (
                float(np.mean((chance[near] - clears[near]) ** 2)) if near.any() else float("nan")
            )
            row[f"{name}_far_expected_misses"] = float(np.sum(1 - chance[far]))
            row[f"{name}_shown_chance"] = float(chance[shown].mean()) if shown.any() else 0.0
            row[f"{name}_shown_brier"] = (
                float(np.mean((chance[shown] - clears[shown]) ** 2)) if shown.any() else 0.0
            )
            # log loss punishes a confident chance that misses far more than Brier does
            p_clear = np.clip(chance[shown], 1e-6, 1 - 1e-6)
            row[f"{name}_shown_log_loss"] = (
                float(-np.mean(np.where(clears[shown], np.log(p_clear), np.log1p(-p_clear))))
                if shown.any()
                else 0.0
            )
            row[f"{name}_hits"] = int(qualifies[order].sum())
            row[f"{name}_listed"] = len(order)
            row[f"{name}_listed_estimated"] = int(estimated[order].sum())
        out.append(row)
    return out


def main() -> None:
    import pandas as pd

    parser = worlds_parser(__doc__, "world directories of run.py")
    parser.add_argument("--models", default="models_ours", help="folder of trained models")
    args = parser.parse_args()
    print(
        "| world | tier | σ: all published / candidates published (n) / candidates "
        "estimated, true − est. (mean) | near the bar: n, share clearing | far above: n, "
        "misses | shown (estimated, no visible miss): n, share clearing, error (RMS) "
        "| published after a round: n, mean of published − estimated |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for world in args.worlds:
        for r in check_world(world, args.models):
            rows.append(r)
            print(
                f"| {r['world']} | {r['tier']} | {r['error_all_published']:.2f} / "
                f"{r['error_candidates_published']:.2f} ({r['candidates_published']:,}) / "
                f"{r['error_candidates_estimated']:.2f} ({r['bias_candidates_estimated']:+.2f}) "
                f"| {r['near']:,}, {r['near_clear_share']:.3f} | {r['far']:,}, {r['far_misses']} "
                f"| {r['shown']:,}, {r['shown_clear_share']:.3f}, {r['shown_error']:.2f} "
                f"| {r['later']:,}, {r['later_mean']:+.2f} |",
                flush=True,
            )
    print(
        "\n| world | tier | σ from | σ | near: mean chance, Brier | far: expected misses "
        "| shown: mean chance, Brier | list hits (estimated listed) |"
    )
    print("|---|---|---|---:|---|---:|---|---|")
    for r in rows:
        for name, words in SIGMAS.items():
            print(
                f"| {r['world']} | {r['tier']} | {words} | {r[f'{name}_sigma']:.2f} "
                f"| {r[f'{name}_near_chance']:.3f}, {r[f'{name}_near_brier']:.4f} "
                f"| {r[f'{name}_far_expected_misses']:.1f} "
                f"| {r[f'{name}_shown_chance']:.3f}, {r[f'{name}_shown_brier']:.4f} "
                f"| {r[f'{name}_hits']}/{r[f'{name}_listed']} ({r[f'{name}_listed_estimated']}) |"
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return
    print(
        "\n| tier | σ from | worlds | shown: Σ n, share clearing, mean chance, Brier, log loss | near: Brier | far: misses, expected | list hits |"
    )
    print("|---|---|---:|---|---:|---|---:|")
    for tier, part in frame.groupby("tier", sort=False):
        n = part["shown"].sum()
        share = (part["shown"] * part["shown_clear_share"].fillna(0)).sum() / max(n, 1)
        for name, words in SIGMAS.items():
            w = part["shown"] / max(n, 1)
            print(
                f"| {tier} | {words} | {len(part)} | {n:,}, {share:.3f}, "
                f"{(w * part[f'{name}_shown_chance']).sum():.3f}, "
                f"{(w * part[f'{name}_shown_brier']).sum():.4f}, "
                f"{(w * part[f'{name}_shown_log_loss']).sum():.4f} "
                f"| {part[f'{name}_near_brier'].mean():.4f} "
                f"| {part['far_misses'].sum()}, {part[f'{name}_far_expected_misses'].sum():.1f} "
                f"| {part[f'{name}_hits'].sum()} |"
            )


if __name__ == "__main__":
    main()
