"""Ranking quality against the simulator's hidden truth, on worlds the service has never seen.

For each seed: simulate a world, ingest it, train both tiers at the decision date
with the service's own recipe, rank, and measure the precision of the top K
(200 for specialized SMEs, 50 for little giants) against who would really
qualify. Beside it, on the same candidates:
- rules: sort by class-I IP, then revenue (what an office does without a model);
- rules + thresholds: the same, leaving out companies known to miss a threshold
  (as our list does), so the model's own share of the gain is visible;
- certification-only PU: LightGBM on "certified in the next year or not", every
  candidate weighted alike, no application outcomes — the naive positive-unlabeled
  baseline — with and without the threshold exclusion;
- ours without the threshold exclusion.

    python benchmarks/ranking_quality.py --seeds 101,102,103 --companies 20000 --out q.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from discovery import metrics
from discovery.criteria import default_criteria
from discovery.labels import gate
from discovery.model import ScoringModel, fit_booster
from discovery.ranking import rank, threshold_status
from discovery.registry import Registry
from discovery.schema import FeatureSchema
from discovery.simulation import simulate
from discovery.training import SnapshotCache, collect_rounds, train_tier
from graph.embedded import EmbeddedStore
from graph.validation import read_directory

AS_OF = date(2025, 12, 31)
TOPS = {"specialized_sme": 200, "little_giant": 50}


def precision(
    scores: np.ndarray, qualifies: np.ndarray, k: int, keep: np.ndarray | None = None
) -> float:
    scores = np.asarray(scores, dtype=float).copy()
    if keep is not None:
        scores[~keep] = -np.inf
        k = min(k, int(keep.sum()))
    return float(metrics.precision_recall_at(scores, qualifies, (k,))[str(k)]["precision"] or 0.0)


def one_world(seed: int, companies: int, work: Path) -> dict:
    data = work / f"world_{seed}"
    simulate(companies, seed, data / "data", data / "truth.csv", end=AS_OF, fmt="parquet")
    truth = pd.read_csv(data / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    store = EmbeddedStore(data / "home" / "store")
    store.load(read_directory(data / "data"))
    criteria = default_criteria()
    registry = Registry(data / "home" / "models")
    snaps = SnapshotCache(store, criteria)
    out: dict = {"seed": seed, "companies": companies}
    for tier, k in TOPS.items():
        t0 = time.perf_counter()
        train_tier(store, tier, AS_OF, criteria, registry, snapshots=snaps)
        listed = rank(store, tier, AS_OF, registry, criteria, top=k, features=snaps(AS_OF))
        seconds = time.perf_counter() - t0
        gates = gate(store, tier, AS_OF, criteria)
        candidates = gates.index[gates["eligible"].to_numpy()]
        x = snaps(AS_OF).loc[candidates]
        qualifies = (
            truth[f"qualifies_{tier}"].reindex(candidates).fillna(False).to_numpy(dtype=bool)
        )
        meets = (
            ~(threshold_status(x, list(criteria.thresholds_for(tier))) == 0).any(axis=1).to_numpy()
        )

        # the naive PU baseline: certified next year or not, all candidates alike
        rounds = collect_rounds(store, tier, AS_OF, criteria, snapshots=snaps)
        schema = FeatureSchema.of(rounds[-1].candidates)
        booster = fit_booster(
            pd.concat([schema.matrix(r.candidates) for r in rounds]),
            np.concatenate([r.examples["label"].to_numpy() for r in rounds]),
            np.ones(sum(len(r.examples) for r in rounds)),
        )
        pu = booster.predict(schema.matrix(x))
        ours_raw = ScoringModel.load(registry.serving(tier)).raw(x)
        rules = metrics.rules_score(x)
        out[tier] = {
            "k": k,
            "candidates": len(candidates),
            "qualifying_candidates": int(qualifies.sum()),
            "ours": float(truth.loc[listed.frame["uscc"], f"qualifies_{tier}"].mean()),
            "ours_without_threshold_exclusion": precision(ours_raw, qualifies, k),
            "rules": precision(rules, qualifies, k),
            "rules_with_thresholds": precision(rules, qualifies, k, meets),
            "pu_certification_only": precision(pu, qualifies, k),
            "pu_certification_only_with_thresholds": precision(pu, qualifies, k, meets),
            "listed_not_invitable": int(
                (~truth.loc[listed.frame["uscc"], f"candidate_{tier}"]).sum()
            ),
            "train_and_rank_seconds": round(seconds, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="101,102,103")
    parser.add_argument("--companies", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="ranking-quality-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            res = one_world(seed, args.companies, Path(tmp))
            results.append(res)
            for tier in TOPS:
                r = res[tier]
                print(
                    f"seed {seed} {tier:<16} P@{r['k']}: ours {r['ours']:.3f} | rules {r['rules']:.3f} "
                    f"| rules+thresholds {r['rules_with_thresholds']:.3f} | PU {r['pu_certification_only']:.3f} "
                    f"| PU+thresholds {r['pu_certification_only_with_thresholds']:.3f} "
                    f"| ours w/o exclusion {r['ours_without_threshold_exclusion']:.3f} "
                    f"| not invitable listed {r['listed_not_invitable']}",
                    flush=True,
                )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
