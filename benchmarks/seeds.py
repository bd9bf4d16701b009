"""Precision across seeds: our lists against each peer's, world by world.

One simulated world is one draw: on a 5,000-company world a 200-company list moves
by several hits from seed to seed, for every pipeline alike. Whether one pipeline is
more precise than another is therefore read over several worlds of each size, with
the same seed giving both pipelines the same world and the same labels:

    python benchmarks/run.py --ladder 5000,10000 --seeds 1,2,3,4,5 --out b.json
    python benchmarks/seeds.py b_seed1.json b_seed2.json ... --out b_seeds.md

Per size and tier: hits and list length of every pipeline per seed, the mean
precision, and how often ours is ahead of, level with or behind each peer in
precision (a list that leaves out companies known to miss a threshold can be shorter
than K, so hits alone would favour the longer list).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.plan import FT_SETUPS

TIERS = {"specialized_sme": 200, "little_giant": 50}
#: peers compared with ours, in report order
PEERS = (
    *(name for peer in FT_SETUPS for name in (peer, f"{peer}_thresholds")),
    "networkx",
    "thresholds_rule",
    "rules_thresholds",
    "rules",
)


def collect(reports: list[dict[str, Any]]) -> dict[int, dict[int, dict[str, dict]]]:
    """companies → seed → pipeline → tier → {hits, listed}."""
    out: dict[int, dict[int, dict[str, dict]]] = {}
    for report in reports:
        for size in report["sizes"]:
            quality = size.get("quality") or {}
            out.setdefault(size["companies"], {})[report["seed"]] = {
                name: {t: q[t] for t in TIERS if q.get(t)} for name, q in quality.items()
            }
    return out


def markdown(reports: list[dict[str, Any]]) -> str:
    table = collect(reports)
    lines = [
        "# Precision across seeds",
        "",
        "True qualifiers in each list, `hits/listed`; every seed is its own world with "
        "the same labels for all pipelines. Lists that leave out companies known to miss "
        "a threshold can be shorter than K, so pipelines are compared on precision.",
        "",
    ]
    for n in sorted(table):
        by_seed = table[n]
        seeds = sorted(by_seed)
        names = [p for p in ("ours", *PEERS) if any(p in by_seed[s] for s in seeds)]
        for tier, k in TIERS.items():
            lines += [
                f"## {n:,} companies · {tier} top {k}",
                "",
                "| seed | " + " | ".join(names) + " |",
                "|---:|" + "---:|" * len(names),
            ]
            for s in seeds:
                cells = [_cell(by_seed[s].get(p, {}).get(tier)) for p in names]
                lines.append(f"| {s} | " + " | ".join(cells) + " |")
            means = [_mean([by_seed[s].get(p, {}).get(tier) for s in seeds]) for p in names]
            lines.append("| **mean precision** | " + " | ".join(means) + " |")
            versus = [_versus(by_seed, seeds, p, tier) for p in names[1:]]
            lines.append("| ours ahead / level / behind | – | " + " | ".join(versus) + " |")
            lines.append("")
    return "\n".join(lines)


def _cell(q: dict | None) -> str:
    return "–" if not q else f"{q['hits']}/{q['listed']}"


def _precision(q: dict) -> float:
    return q["hits"] / q["listed"] if q["listed"] else 0.0


def _mean(qs: list[dict | None]) -> str:
    """Mean precision, saying over how many seeds when the pipeline did not run on all."""
    values = [_precision(q) for q in qs if q]
    if not values:
        return "–"
    mean = f"{sum(values) / len(values):.3f}"
    return mean if len(values) == len(qs) else f"{mean} ({len(values)} of {len(qs)} seeds)"


def _versus(by_seed: dict, seeds: list[int], peer: str, tier: str) -> str:
    ahead = level = behind = 0
    for s in seeds:
        ours, theirs = by_seed[s].get("ours", {}).get(tier), by_seed[s].get(peer, {}).get(tier)
        if not ours or not theirs:
            continue
        d = round(_precision(ours) - _precision(theirs), 9)
        ahead, level, behind = ahead + (d > 0), level + (d == 0), behind + (d < 0)
    return f"{ahead} / {level} / {behind}" if ahead + level + behind else "–"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("reports", nargs="+", type=Path, help="run.py JSON reports")
    parser.add_argument("--out", type=Path, help="write the Markdown here too")
    args = parser.parse_args()
    text = markdown([json.loads(p.read_text(encoding="utf-8")) for p in args.reports])
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
