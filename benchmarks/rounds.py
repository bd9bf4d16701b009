"""Do the older rounds earn their snapshots? The lists of fewer, newer rounds beside today's.

    python benchmarks/rounds.py /tmp/discovery_bench/world_*_200000_15_parquet --per-million 1000

Training adds past rounds, newest first, until the training rounds hold
`discovery.training.ENOUGH_POSITIVES` approvals (or five rounds are used); every round
costs a feature snapshot of every company at its date. For each world `run.py` left
trained (store, `models_ours`, its snapshots and `truth.csv`) this trains both tiers
again with a smaller number, `--per-million` approvals per million companies in the
world (so a small world stops as early, relative to its size, as a large one would),
into `models_rounds`, and ranks both tiers with each set of serving models exactly as
the rank stage does. It prints, per world and tier, the rounds each used, the
validation round's AUC, the list's hits against the world's truth and its forecast (the
sum of its chances), and the thresholds rule's hits from the run's lists.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks.forecast import forecast_lists  # noqa: E402
from benchmarks.lists import score_lists, worlds_parser  # noqa: E402
from benchmarks.plan import AS_OF, TOPS  # noqa: E402
from benchmarks.stages import snapshot_folder, world_store  # noqa: E402


def compare(world: Path, per_million: float) -> list[dict[str, Any]]:
    """Per tier: today's serving model and one trained with fewer rounds, on `world`."""
    import pandas as pd

    from discovery.criteria import default_criteria
    from discovery.registry import Registry
    from discovery.snapshots import SnapshotCache
    from discovery.training import train_tier

    store, criteria = world_store(world), default_criteria()
    companies = store.counts()["companies"]
    enough = max(1, round(per_million * companies / 1_000_000))
    snapshots = SnapshotCache(store, criteria, snapshot_folder(world, "ours"))
    folder = world / "models_rounds"
    shutil.rmtree(folder, ignore_errors=True)
    fewer = Registry(folder)
    seconds = {}
    for tier in TOPS:
        t0 = time.perf_counter()
        train_tier(
            store, tier, AS_OF, criteria, fewer, snapshots=snapshots, enough_positives=enough
        )
        seconds[tier] = time.perf_counter() - t0
    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    today = Registry(world / "models_ours")
    snap = snapshots(AS_OF)
    rows = {
        name: {r["tier"]: r for r in forecast_lists(store, reg, criteria, snap, truth)}
        for name, reg in (("today", today), ("fewer", fewer))
    }
    rule = score_lists(world, ["thresholds_rule"])["thresholds_rule"]
    out = []
    for tier in TOPS:
        cards = {name: _card(reg, tier) for name, reg in (("today", today), ("fewer", fewer))}
        row: dict[str, Any] = {"world": world.name, "tier": tier, "enough": enough}
        for name, card in cards.items():
            row[f"{name}_rounds"] = len(card["train_rounds"])
            row[f"{name}_auc"] = card["metrics"]["model"]["auc_direct_evidence"]
            row[f"{name}_hits"] = rows[name][tier]["hits"]
            row[f"{name}_forecast"] = rows[name][tier]["forecast"]
        row["fewer_seconds"] = seconds[tier]
        row["rule_hits"] = rule.get(tier, {}).get("hits")
        out.append(row)
    return out


def _card(registry: Any, tier: str) -> dict[str, Any]:
    model = registry.serving(tier)
    assert model is not None, f"no serving {tier} model in {registry}"
    return model.bundle["card"]


def main() -> None:
    parser = worlds_parser(__doc__, "world directories of run.py, trained")
    parser.add_argument(
        "--per-million", type=float, default=1000, help="approvals per million companies"
    )
    args = parser.parse_args()
    print(
        "| world | tier | enough | training rounds: today / fewer | validation AUC: today / "
        "fewer | hits: today / fewer | forecast: today / fewer | thresholds rule | "
        "fewer: train s |"
    )
    print("|---|---|---:|---|---|---|---|---:|---:|")
    totals: dict[str, list[float]] = {}
    for world in args.worlds:
        for r in compare(world, args.per_million):
            print(
                f"| {r['world']} | {r['tier']} | {r['enough']} | {r['today_rounds']} / "
                f"{r['fewer_rounds']} | {r['today_auc']:.3f} / {r['fewer_auc']:.3f} | "
                f"{r['today_hits']} / {r['fewer_hits']} | {r['today_forecast']:.1f} / "
                f"{r['fewer_forecast']:.1f} | {r['rule_hits']} | {r['fewer_seconds']:.1f} |",
                flush=True,
            )
            t = totals.setdefault(r["tier"], [0, 0, 0.0, 0.0])
            t[0] += r["today_hits"]
            t[1] += r["fewer_hits"]
            t[2] += abs(r["today_forecast"] - r["today_hits"])
            t[3] += abs(r["fewer_forecast"] - r["fewer_hits"])
    for tier, (today, fewer, err_today, err_fewer) in totals.items():
        print(
            f"\n{tier}: hits {today:.0f} today, {fewer:.0f} with fewer rounds; "
            f"sum |forecast - hits| {err_today:.1f} and {err_fewer:.1f}"
        )


if __name__ == "__main__":
    main()
