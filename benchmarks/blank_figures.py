"""Would counting a blank figure against its threshold change the lists?

    python benchmarks/blank_figures.py /tmp/discovery_bench/world_outside_*_parquet \
        --decisions ss_niche_years,lg_niche_years
    python benchmarks/blank_figures.py WORLDS --decisions ''   # every threshold learned

For each world that `run.py` left trained (its store, `models_ours`, the snapshots and
`truth.csv`), this reads the blank-figure evidence of every threshold from the serving
model's rounds (the share of each round's approvals whose figure was blank at the
round's date, against the share of its rejected applicants: `discovery.missing_figures.
MissingnessEvidence`), then ranks both tiers twice with the same trained models: as
trained (with the criteria file's settings of the day it was trained), and with exactly
the thresholds named by `--decisions` set to `when_unknown: decisions` (their learned
chance times the evidence's odds ratio; every other threshold `learned`). It prints the hits of
both lists against the truth, and the odds ratio of every threshold below 1. Only the
chance of a missing figure changes; the booster, the quality bar and the calibration
are the ones trained.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.lists import truth_flag, worlds_parser  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402


def blank_figures(world: Path, decisions: set[str]) -> list[dict[str, Any]]:
    """`blank_figure_lists` of a world `run.py` left trained."""
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.registry import Registry
    from discovery.snapshots import SnapshotCache

    store, criteria = world_store(world), default_criteria()
    cache = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    rows = blank_figure_lists(
        store, Registry(world / "models_ours"), criteria, cache, truth, decisions
    )
    return [{"world": world.name, **row} for row in rows]


def blank_figure_lists(
    store: Any, registry: Any, criteria: Any, cache: Any, truth: Any, decisions: set[str]
) -> list[dict[str, Any]]:
    """Per tier: hits of the list as trained and with `decisions` (threshold ids) read
    from the past approvals, and every odds ratio below 1."""
    from discovery.labels import gate
    from discovery.metrics import list_order
    from discovery.missing_figures import MissingFigures, MissingnessEvidence
    from discovery.model import ScoringModel
    from discovery.ranking import threshold_status
    from discovery.standard_check import below_any_floor
    from discovery.training import DEFAULT_ROUNDS, collect_rounds, decisions_by_round

    snapshot = cache(AS_OF)
    out = []
    for tier, top in TOPS.items():
        if registry.serving(tier) is None:
            continue
        model = ScoringModel.load(registry.serving(tier))
        if model.missing is None:
            continue
        rounds = collect_rounds(store, tier, AS_OF, criteria, DEFAULT_ROUNDS, cache, None)
        evidence = decisions_by_round(rounds)
        chosen = {t.column for t in criteria.thresholds_for(tier) if t.id in decisions}
        read = MissingFigures(
            tuple(
                replace(
                    c,
                    evidence=MissingnessEvidence.read(c.status, evidence),
                    by_decisions=c.status in chosen,
                )
                for c in model.missing.chances
            )
        )
        gates = gate(store, tier, AS_OF, criteria)
        x = snapshot.loc[gates.index[gates["eligible"].to_numpy()]]
        thresholds = list(criteria.thresholds_for(tier))
        misses = (threshold_status(x, thresholds) == 0).any(axis=1).to_numpy()
        below = below_any_floor(x, list(model.floors))
        calibrated = model.calibration(model.raw(x))
        row: dict[str, Any] = {"tier": tier}
        for name, figures in (("as trained", model.missing), ("decisions", read)):
            order = list_order(
                calibrated * figures.chance(x), misses, below, criteria.empirical_floors.use
            )[:top]
            codes = list(x.index[order])
            row[f"{name} listed"] = codes
            row[name] = int(truth_flag(truth, f"qualifies_{tier}", codes).sum())
        row["odds ratios below 1"] = {
            c.status: round(c.evidence.ratio, 3) for c in read.chances if c.evidence.ratio < 0.999
        }
        out.append(row)
    return out


def main() -> None:
    parser = worlds_parser(__doc__, "world directories run.py left trained")
    parser.add_argument(
        "--decisions",
        default="ss_niche_years,lg_niche_years",
        help="comma-separated threshold ids to read as `when_unknown: decisions`",
    )
    args = parser.parse_args()
    decisions = {d for d in args.decisions.split(",") if d}
    totals: dict[str, dict[str, int]] = {}
    for world in args.worlds:
        for row in blank_figures(world, decisions):
            shown = {k: v for k, v in row.items() if not k.endswith(" listed")}
            print(shown, flush=True)
            total = totals.setdefault(row["tier"], {"as trained": 0, "decisions": 0})
            total["as trained"] += row["as trained"]
            total["decisions"] += row["decisions"]
    for tier, total in totals.items():
        print(f"{tier}: {total['as trained']} hits as trained, {total['decisions']} with decisions")


if __name__ == "__main__":
    main()
