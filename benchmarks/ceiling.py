"""How high can a list reach on a world? A reference trained on other worlds' truth.

    python benchmarks/ceiling.py /tmp/discovery_bench/world_file_standard_20000_{1,2,3,4,5,6,7,8}_parquet

A list's precision is bounded by what the data on file can tell apart, not only by
the model. To tell "our model is weak" from "the data cannot support this target",
each world given is ranked by two references that use labels no province has:

- **truth-trained**: a LightGBM classifier fitted on the truth (`qualifies_<tier>`) of
  the gated candidates of every *other* world given (leave one world out), on the same
  decision-date snapshot our models read (every numeric column: features, threshold
  statuses, the quality estimate). Thousands of candidates with exact labels, where our
  models learn from a few rounds of self-selected applicants' decisions.
- **truth-trained, scores published**: the same with each company's true quality score
  as one more column, as if the platform published every score.

Both rank the world's gated candidates without a visible miss (those are never listed,
as on our lists) and are printed beside ours and the thresholds rule (the lists
`run.py` wrote), with the qualifying candidates the world holds. Worlds must have been
left trained by `run.py` (the `ours` snapshot at the decision date, `truth.csv`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.lists import score_lists, truth_flag, worlds_parser  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402

#: the references' LightGBM: plain settings, fixed seed (they are a yardstick, not tuned)
PARAMS: dict[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 20,
    "random_state": 0,
    "verbose": -1,
}
#: the truth's quality score, added as a column by the "scores published" reference
TRUE_SCORE = "truth_quality_score"


@dataclass
class Candidates:
    """One world's gated candidates for one tier."""

    #: numeric inputs, one row per candidate (index: credit codes)
    x: Any
    #: qualifies (truth)
    y: np.ndarray
    #: known to miss a threshold of the criteria file (never listed)
    miss: np.ndarray


def ceiling_hits(worlds: dict[str, Candidates], k: int, columns: list[str]) -> dict[str, int]:
    """Per world: qualifiers among the top `k` of a classifier fitted on every other
    world's truth, over the world's candidates without a visible miss."""
    import lightgbm as lgb
    import pandas as pd

    out = {}
    for name, test in worlds.items():
        train = [c for other, c in worlds.items() if other != name]
        x = pd.concat([c.x[columns] for c in train])
        y = np.concatenate([c.y for c in train])
        model = lgb.LGBMClassifier(**PARAMS).fit(x, y)
        listable = ~test.miss
        p = np.asarray(model.predict_proba(test.x.loc[listable, columns]))[:, 1]
        order = np.argsort(-p, kind="stable")[:k]
        out[name] = int(test.y[listable][order].sum())
    return out


def world_candidates(world: Path) -> dict[str, Candidates]:
    """Per tier, the gated candidates of a trained `run.py` world, with the truth."""
    import pandas as pd

    from benchmarks.peers import candidates  # type: ignore[attr-defined]  # peers.py, not peers/
    from discovery.criteria import default_criteria
    from discovery.snapshots import SnapshotCache

    store, criteria = world_store(world), default_criteria()
    snap = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))(AS_OF)
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    out = {}
    for tier in TOPS:
        x, miss = candidates(store, snap, tier, criteria)
        codes = [str(c) for c in x.index]
        numeric = x.select_dtypes(include=["number", "bool"]).astype(float)
        numeric[TRUE_SCORE] = truth["quality_score"].reindex(codes).to_numpy(dtype=float)
        y = truth_flag(truth, f"qualifies_{tier}", codes)
        out[tier] = Candidates(numeric, y, np.asarray(miss, dtype=bool))
    return out


def main() -> None:
    parser = worlds_parser(__doc__, "worlds run.py left trained")
    a = parser.parse_args()
    if len(a.worlds) < 2:
        parser.error("give at least two worlds: each is ranked by a model fitted on the others")
    per_world = {w.name: world_candidates(w) for w in a.worlds}
    scored = {w.name: score_lists(w, ["ours", "thresholds_rule"]) for w in a.worlds}
    head = (
        "| world | tier | qualifying candidates (listable) | ours | thresholds rule "
        "| truth-trained | truth-trained, scores published |"
    )
    print(head)
    print("|---|---|---:|---:|---:|---:|---:|")
    for tier, k in TOPS.items():
        worlds = {name: c[tier] for name, c in per_world.items()}
        visible = [c for c in next(iter(worlds.values())).x.columns if c != TRUE_SCORE]
        plain = ceiling_hits(worlds, k, visible)
        published = ceiling_hits(worlds, k, [*visible, TRUE_SCORE])
        for world in a.worlds:
            c = worlds[world.name]
            hits = {
                name: lists.get(tier, {}).get("hits", "–")
                for name, lists in scored[world.name].items()
            }
            print(
                f"| {world.name} | {tier} /{k} | {int(c.y.sum())} ({int(c.y[~c.miss].sum())}) "
                f"| {hits.get('ours', '–')} | {hits.get('thresholds_rule', '–')} "
                f"| {plain[world.name]} | {published[world.name]} |"
            )


if __name__ == "__main__":
    main()
