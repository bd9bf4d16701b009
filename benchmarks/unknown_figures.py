"""How a company's unknown thresholds make one chance: the smallest (today), the product,
or one chance learned for the whole set; and the classifiers' row cap.

    python benchmarks/unknown_figures.py /tmp/discovery_bench/world_*_20000_24_parquet \
        --variant product

A listed company whose revenue, R&D or main-business figures are not on file takes the
chance that its unknown thresholds are met (`discovery.missing_figures`): one classifier
per threshold, and today the smallest of a company's chances. For each world that
`run.py` left trained (store, its snapshots, `truth.csv`, the run's lists) this trains
both tiers again with one variant into `models_<variant>` and ranks them as the rank
stage does:

- `smallest`: today's rule, retrained (the reference: same code, same snapshots);
- `product`: the product of the row's chances (the thresholds independent);
- `joint`: where at least `JOINT_ROWS` listable candidates share one set of two or more
  unknown thresholds, one classifier learns "all of the set met" from the candidates
  with every figure of the set on file; other rows take the product. Training's
  held-out list takes the product; the lists are ranked with the joint chance.
- `--max-rows N`: each classifier learns from at most N known rows (`MAX_ROWS`).

It prints, per world and tier, the list's hits against the truth, its forecast, and the
thresholds rule's hits from the run's lists; then, over the worlds, how well the chance
predicts "every unknown threshold met" in the truth (mean chance, share met, Brier score)
for the candidates with two or more unknown thresholds and no visible miss, all of them
and those on the variant's lists.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.lists import score_lists, truth_flag, worlds_parser, write_list  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402

VARIANTS = ("smallest", "product", "joint")
#: listable candidates sharing one set of unknown thresholds before it gets its own classifier
JOINT_ROWS = 10
#: the simulator's name, in `truth.csv`'s `misses_<tier>`, of each status column's measure
TRUTH_MEASURE = {
    "std_ss_niche_years": "niche_years>=",
    "std_ss_rd_amount": "rd_1y>=",
    "std_ss_rd_share": "rd_ratio_1y>=",
    "std_ss_revenue": "revenue>=",
    "std_lg_revenue": "revenue>=",
    "std_lg_rd_two_years": "rd_2y>=",
    "std_lg_class_one_ip": "class_one_own>=",
    "std_lg_niche_years": "niche_years>=",
    "std_lg_main_business_share": "main_business_share>=",
    "std_lg_main_business_growth": "main_business_growth_2y>=",
    "std_lg_rd_share": "rd_ratio_2y>=",
}


def product(per: dict[str, np.ndarray], n: int) -> np.ndarray:
    out = np.ones(n)
    for values in per.values():
        out *= np.where(np.isnan(values), 1.0, values)
    return out


def joint_chance(missing: Any, frame: Any, learn_from: Any) -> np.ndarray:
    """The `joint` variant's chance for `frame`'s rows, learned from `learn_from` (every
    candidate at the date, visible misses included)."""
    import lightgbm as lgb

    from discovery import missing_figures as mf
    from discovery.schema import FeatureSchema

    per = missing.per_threshold(frame)
    out = product(per, len(frame))
    statuses = list(per)
    if not statuses:
        return out
    unknown = np.column_stack([frame[s].isna().to_numpy() for s in statuses])
    keys = unknown @ (1 << np.arange(len(statuses)))
    inputs = [c for c in FeatureSchema.of(learn_from).numeric() if not c.startswith("std_")]
    factors = {c.status: c.factor for c in missing.chances}
    for key in np.unique(keys):
        chosen_statuses = [s for i, s in enumerate(statuses) if key >> i & 1]
        rows = keys == key
        if len(chosen_statuses) < 2 or rows.sum() < JOINT_ROWS:
            continue
        values = learn_from[chosen_statuses].to_numpy(dtype=float)
        known = ~np.isnan(values).any(axis=1)
        met = (values[known] == 1.0).all(axis=1)
        if known.sum() < mf.MIN_KNOWN or met.all() or not met.any():
            continue
        seen = frame.loc[rows, inputs].notna().mean()
        chosen = [c for c in inputs if seen[c] >= mf.SEEN_SHARE]
        if not chosen:
            continue
        x = learn_from.loc[known, chosen].to_numpy(dtype=float)
        booster = lgb.train(mf.PARAMS, lgb.Dataset(x, label=met.astype(float)), mf.ROUNDS)
        factor = float(np.prod([factors[s] for s in chosen_statuses]))
        out[rows] = booster.predict(frame.loc[rows, chosen].to_numpy(dtype=float)) * factor
    return out


@contextmanager
def patched(variant: str, max_rows: int | None, learn_from: dict[str, Any]) -> Iterator[None]:
    """`MissingFigures.chance` (and `MAX_ROWS`) as the variant has them, restored after.
    `learn_from["frame"]`, when set, is what the joint variant learns from."""
    from discovery import missing_figures as mf

    chance, rows = mf.MissingFigures.chance, mf.MAX_ROWS

    def variant_chance(self: Any, frame: Any) -> np.ndarray:
        if variant == "smallest":
            return chance(self, frame)
        if variant == "joint" and learn_from.get("frame") is not None:
            return joint_chance(self, frame, learn_from["frame"])
        return product(self.per_threshold(frame), len(frame))

    mf.MissingFigures.chance = variant_chance  # type: ignore[method-assign]
    mf.MAX_ROWS = max_rows or rows
    try:
        yield
    finally:
        mf.MissingFigures.chance = chance  # type: ignore[method-assign]
        mf.MAX_ROWS = rows


def calibration_rows(
    model: Any, candidates: Any, truth: Any, tier: str, criteria: Any, listed: list[str]
) -> list[dict[str, Any]]:
    """Per candidate with two or more unknown thresholds and no visible miss: its chance
    under the patch in force, whether every unknown threshold is met in the truth, and
    whether it is on the list. None where the truth does not name every measure of the
    file's thresholds (the outside generator's worlds, or a review that drops one)."""
    from discovery.ranking import threshold_status

    per = model.missing.per_threshold(candidates)
    chance = model.missing.chance(candidates)
    status = threshold_status(candidates, criteria.thresholds_for(tier))
    visible_miss = (status == 0).any(axis=1).to_numpy()
    codes = candidates.index.astype(str)
    misses = truth.reindex(codes)[f"misses_{tier}"].fillna("").astype(str).to_numpy()
    named = {m.split("=")[0] + "=" for cell in misses for m in cell.split("|") if m}
    if not {TRUTH_MEASURE[s] for s in per} <= named:
        return []  # the world's review does not judge every measure of the file
    n_unknown = np.zeros(len(candidates), dtype=int)
    all_met = np.ones(len(candidates), dtype=bool)
    for status in per:
        unknown = candidates[status].isna().to_numpy()
        n_unknown += unknown
        missed = np.array([TRUTH_MEASURE[status] in m for m in misses])
        all_met &= ~(unknown & missed)
    on_list = np.isin(codes, listed)
    keep = ~visible_miss & (n_unknown >= 2)
    return [
        {"tier": tier, "chance": c, "met": m, "listed": li}
        for c, m, li in zip(chance[keep], all_met[keep], on_list[keep], strict=True)
    ]


def list_groups(
    candidates: Any, codes: list[str], hit: np.ndarray, score: Any, tier: str, criteria: Any
) -> list[dict[str, Any]]:
    """Per listed company: how many of its thresholds other than the quality score are
    unknown (0, 1, 2 or more), whether its quality score is estimated, hit, chance."""
    from discovery.missing_figures import unverified_columns
    from discovery.quality import SCORE_COLUMN

    listed = candidates.reindex(codes)
    others = unverified_columns(criteria, tier)
    unknown = np.minimum(listed[others].isna().to_numpy().sum(axis=1), 2)
    estimated = listed[SCORE_COLUMN].isna().to_numpy()
    return [
        {"tier": tier, "unknown": u, "estimated": e, "hit": h, "chance": c}
        for u, e, h, c in zip(unknown, estimated, hit, score.to_numpy(float), strict=True)
    ]


def compare(
    world: Path, variant: str, max_rows: int | None
) -> tuple[list[dict], list[dict], list[dict]]:
    """Both tiers retrained under the variant on `world`: per tier, hits and forecast;
    the calibration rows and the listed companies' groups of both tiers."""
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.labels import candidates_at
    from discovery.model import ScoringModel
    from discovery.ranking import rank
    from discovery.registry import Registry
    from discovery.snapshots import SnapshotCache
    from discovery.training import train_tier

    store, criteria = world_store(world), default_criteria()
    snapshots = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))
    tag = variant if max_rows is None else f"{variant}_rows{max_rows}"
    folder = world / f"models_{tag}"
    shutil.rmtree(folder, ignore_errors=True)
    registry = Registry(folder)
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    rule = score_lists(world, ["thresholds_rule"])["thresholds_rule"]
    learn_from: dict[str, Any] = {}
    lists, calibration, groups = [], [], []
    with patched(variant, max_rows, learn_from):
        for tier in TOPS:
            train_tier(store, tier, AS_OF, criteria, registry, snapshots=snapshots, force=True)
        snap = snapshots(AS_OF)
        for tier, top in TOPS.items():
            learn_from["frame"] = candidates_at(store, tier, AS_OF, criteria, snap)
            frame = rank(store, tier, AS_OF, registry, criteria, top=top, features=snap).frame
            codes = frame["uscc"].astype(str).tolist()
            write_list(world, tag, tier, codes)
            hit = truth_flag(truth, f"qualifies_{tier}", codes)
            model = ScoringModel.load(registry.serving(tier))
            calibration += calibration_rows(
                model, learn_from["frame"], truth, tier, criteria, codes
            )
            groups += list_groups(learn_from["frame"], codes, hit, frame["score"], tier, criteria)
            lists.append(
                {
                    "world": world.name,
                    "tier": tier,
                    "hits": int(hit.sum()),
                    "forecast": float(frame["score"].sum()),
                    "rule": rule.get(tier, {}).get("hits"),
                    # each learned chance's recalibration slope (`missing_figures.recalibration_map`)
                    "slopes": {
                        c.status: c.calibration[1]
                        for c in (model.missing.chances if model.missing else ())
                        if c.booster is not None
                    },
                }
            )
    return lists, calibration, groups


def main() -> None:
    import pandas as pd

    parser = worlds_parser(__doc__, "world directories of run.py, trained")
    parser.add_argument("--variant", choices=VARIANTS, default="smallest")
    parser.add_argument("--max-rows", type=int, help="known rows each classifier learns from")
    args = parser.parse_args()
    print("| world | tier | hits | forecast | thresholds rule |")
    print("|---|---|---:|---:|---:|")
    every: list[dict] = []
    every_list: list[dict] = []
    grouped: list[dict] = []
    totals: dict[str, list[float]] = {}
    for world in args.worlds:
        lists, calibration, groups = compare(world, args.variant, args.max_rows)
        every += calibration
        every_list += lists
        grouped += groups
        for r in lists:
            print(
                f"| {r['world']} | {r['tier']} | {r['hits']} | {r['forecast']:.1f} | {r['rule']} |",
                flush=True,
            )
            t = totals.setdefault(r["tier"], [0, 0.0, 0, 0])
            t[0] += r["hits"]
            t[1] += abs(r["forecast"] - r["hits"])
            t[2] += r["hits"] >= (r["rule"] or 0)
            t[3] += 1
    slopes = pd.DataFrame(
        [
            {"tier": r["tier"], "status": s, "slope": v}
            for r in every_list
            for s, v in r["slopes"].items()
        ]
    )
    if not slopes.empty:
        print("\n| threshold | worlds | recalibration slope: min, median, max |")
        print("|---|---:|---|")
        for status, part in slopes.groupby("status", sort=False):
            v = part["slope"]
            print(f"| `{status}` | {len(v)} | {v.min():.2f}, {v.median():.2f}, {v.max():.2f} |")
    for tier, (hits, err, level, n) in totals.items():
        print(
            f"\n{tier}: hits {hits}, sum |forecast - hits| {err:.1f}, "
            f"at least the thresholds rule on {level} of {n} lists"
        )
    print(
        "\n| tier | thresholds unknown (not the quality score) | quality score | listed | hits | forecast |"
    )
    print("|---|---|---|---:|---:|---:|")
    by_group = pd.DataFrame(grouped).groupby(["tier", "unknown", "estimated"])
    for (tier, unknown, estimated), part in by_group:
        print(
            f"| {tier} | {('none', 'one', 'two or more')[unknown]} | "
            f"{'estimated' if estimated else 'published'} | {len(part)} | "
            f"{int(part['hit'].sum())} | {part['chance'].sum():.1f} |"
        )
    frame = pd.DataFrame(every)
    if frame.empty:
        return
    print("\n| tier | candidates | n | mean chance | share met | Brier |")
    print("|---|---|---:|---:|---:|---:|")
    for (tier, listed), part in frame.groupby(["tier", "listed"]):
        brier = float(((part["chance"] - part["met"]) ** 2).mean())
        print(
            f"| {tier} | {'listed' if listed else 'not listed'} | {len(part)} | "
            f"{part['chance'].mean():.3f} | {part['met'].mean():.3f} | {brier:.4f} |"
        )


if __name__ == "__main__":
    main()
