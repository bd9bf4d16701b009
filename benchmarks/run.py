"""End-to-end benchmark of the discovery pipeline, with peers, on simulated worlds.

    python benchmarks/run.py --companies 5000 --out b.json
    python benchmarks/run.py --ladder 10000,100000,1000000 --format parquet --out ladder.json
    python benchmarks/run.py --ladder 5000,10000 --seeds 1,2,3,4,5 --out seeds.json
    python benchmarks/run.py --companies 5000 --scenarios file_standard,looser_review \
        --seeds 1,2 --held-out looser_review --format parquet --out scen.json
    python benchmarks/run.py --companies 200000 --engine dask --workers 2 --out dask.json

Every world is simulated under a scenario of the simulator (`--scenarios`, default
file_standard: the hidden review standard, self-selection, data coverage, label noise
and regional mix); the whole ladder of sizes and seeds runs once per scenario. The
scenarios named `outside_*` are made instead by `benchmarks/outside_economy.py`, a
generator written from the data contract and the policy text alone, with mechanisms of
its own: worlds our simulator did not make, to check that a list holds beyond it.

For each world size it simulates a world (seeded), then runs in fresh processes, so
each stage's peak RSS is its own (`wait4` rusage of the child):

ours      simulate → ingest (validate + load the embedded store) → features (the
          decision-date snapshot alone, per family) → train (both tiers, as_of
          2025-12-31, up to 5 yearly rounds) → rank (both tiers: top 200 specialized_sme,
          top 50 little_giant). End to end = ingest + train + rank.
peers     rules           `discovery.metrics.rules_score` over the gated candidates;
          rules+thresholds the same, without companies known to miss a threshold;
          thresholds_rule `discovery.metrics.thresholds_rule_score` over the gated
                          candidates (the criteria file alone: visible misses never
                          listed, then thresholds known met, class-I IP, revenue);
          networkx        our pipeline with the supply-chain family computed by the
                          networkx reference (benchmarks/features_bench.py);
          featuretools    deep feature synthesis with one cutoff time per training
                          example + LightGBM with our parameters, in its own venv;
          featuretools_plain, featuretools_plain1
                          the same with featuretools' default primitives, depth 2
                          and depth 1 (what a user starts with).

Every list is scored against the world's truth: precision@K = qualifiers among the
listed, recall@K = listed qualifiers over all qualifying candidates; precision over the
listed companies that never applied for the tier; listed companies that are not
candidates; the share of the list that misses a hidden rule. The JSON holds
everything; a Markdown report is written beside it (same name, `.md`). With a ladder,
a peer that took longer than --peer-budget at one size (or is projected to exceed
--peer-timeout at the next) is skipped at larger sizes, and the report says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# run as a script (`python benchmarks/run.py`): the project root makes `benchmarks`,
# `discovery` and the other packages importable
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the parts: plan (what runs), stages (ours) and peers, each stage a child process
# (child); ladder (one scenario and seed over the sizes, its lists scored by lists),
# report (the Markdown); scenarios and seeds summarise several runs
from benchmarks import peers, stages
from benchmarks.child import CHILD_ENV
from benchmarks.ladder import Ladder
from benchmarks.plan import DEFAULT_SCENARIO, PEERS
from benchmarks.scenarios import write as write_scenarios
from benchmarks.seeds import markdown as seeds_markdown

#: every child stage, ours then the peers': `run.py --stage NAME`
STAGES = {**stages.STAGES, **peers.STAGES}


def build_parser() -> argparse.ArgumentParser:
    """The command line of the driver, and the hidden options of a child stage."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--ladder", help="comma-separated sizes, e.g. 10000,100000,1000000")
    parser.add_argument("--out", type=Path, default=Path("benchmark.json"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--seeds",
        help="comma-separated seeds, e.g. 1,2,3: one run per seed (OUT_seed<S>.json and .md), "
        "then precision across seeds in OUT_seeds.md (benchmarks/seeds.py)",
    )
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument(
        "--patent-rows",
        type=float,
        help="top the simulated patent table up with class-II rights to this many rows per "
        "company on average (benchmarks/densify.py; e.g. 15, as registries of real regions hold)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/discovery_bench"))
    parser.add_argument("--reuse-worlds", action="store_true", help="skip simulate if present")
    parser.add_argument(
        "--scenarios",
        help="comma-separated simulator scenarios (discovery.simulation.load_scenarios), e.g. "
        "file_standard,looser_review: the whole ladder (sizes × seeds) per scenario, reports "
        f"OUT_<scenario>[_seed<S>].json; the summary is OUT_scenarios.md/.json "
        f"(default: {DEFAULT_SCENARIO} alone, reports named as without scenarios)",
    )
    parser.add_argument(
        "--held-out",
        default="",
        help="comma-separated scenarios held out from tuning; only labels the summary rows "
        "(the others read 'used for tuning')",
    )
    parser.add_argument(
        "--skip-peers",
        default=None,
        help=f"comma-separated, from {', '.join(PEERS)} (default: none; networkx with --scenarios)",
    )
    parser.add_argument("--peer-budget", type=float, default=600.0)
    parser.add_argument("--peer-timeout", type=float, default=1800.0)
    parser.add_argument(
        "--omp-wait-policy",
        choices=["default", "passive"],
        default="default",
        help="OMP_WAIT_POLICY for every child; passive stops LightGBM's OpenMP threads "
        "spin-waiting, which costs ~8x on a machine busier than its cores",
    )
    parser.add_argument(
        "--engine",
        choices=["pandas", "dask"],
        default=None,
        help="DISCOVERY_ENGINE for every child: where features are built (default: the "
        "environment's, pandas unless set); dask starts a local cluster of --workers",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="DISCOVERY_DASK_WORKERS for every child (with --engine dask); each worker's "
        "memory limit is DISCOVERY_DASK_MEMORY_LIMIT",
    )
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DISCOVERY_DASK_MEMORY_LIMIT for every child (with --engine dask), e.g. 4GB: "
        "each worker spills to disk above part of it and is restarted above it",
    )
    parser.add_argument(
        "--no-features-stage",
        action="store_true",
        help="skip the features stage (one snapshot timed per family, not part of end to "
        "end): saves its time on the largest worlds",
    )
    parser.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    parser.add_argument("--world-scenario", default=DEFAULT_SCENARIO, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()

    if args.stage:  # a child: one stage, its result as JSON on the last line
        print(json.dumps(STAGES[args.stage](args), default=str))
        return
    explicit = args.scenarios is not None
    scenarios = [x for x in (args.scenarios or DEFAULT_SCENARIO).split(",") if x]
    if explicit:
        from benchmarks.outside_economy import VARIANTS
        from discovery.simulation import load_scenarios

        unknown = sorted(set(scenarios) - set(load_scenarios()) - set(VARIANTS))
        if unknown:
            parser.error(
                f"unknown scenario(s) {', '.join(unknown)}; see scenarios.yaml and "
                "benchmarks/outside_economy.py"
            )
    skip = args.skip_peers if args.skip_peers is not None else ("networkx" if explicit else "")
    args.skip_peers = {p for p in skip.split(",") if p}
    if args.omp_wait_policy == "passive":
        CHILD_ENV["OMP_WAIT_POLICY"] = "PASSIVE"
    if args.workers is not None and args.engine != "dask":
        parser.error("--workers is the number of Dask workers: give it with --engine dask")
    if args.memory_limit is not None and args.engine != "dask":
        parser.error("--memory-limit is each Dask worker's: give it with --engine dask")
    if args.engine:
        CHILD_ENV["DISCOVERY_ENGINE"] = args.engine
    if args.engine == "dask" and "networkx" not in args.skip_peers:
        # that peer swaps a family in its own process, which Dask's workers never see
        print("--engine dask: the networkx peer is skipped (it runs on the pandas engine only)")
        args.skip_peers.add("networkx")
    if args.workers is not None:
        CHILD_ENV["DISCOVERY_DASK_WORKERS"] = str(args.workers)
    if args.memory_limit is not None:
        CHILD_ENV["DISCOVERY_DASK_MEMORY_LIMIT"] = args.memory_limit
    sizes = (
        [int(s.replace("_", "")) for s in args.ladder.split(",")]
        if args.ladder
        else [args.companies]
    )
    held_out = [x for x in args.held_out.split(",") if x]
    if args.patent_rows:
        from benchmarks.densify import reads_class_two
        from benchmarks.outside_economy import VARIANTS

        dense = [s for s in scenarios if s in VARIANTS or reads_class_two(s)]
        if dense:
            parser.error(
                f"--patent-rows adds class-II rights, which the hidden review of "
                f"{', '.join(dense)} reads; leave it out for those scenarios"
            )
    run_all(args, sizes, scenarios, explicit, held_out)


def run_all(
    args: argparse.Namespace,
    sizes: list[int],
    scenarios: list[str],
    explicit: bool,
    held_out: list[str],
) -> list[dict]:
    """The ladder once per scenario and seed; per-scenario seed tables; the scenario summary.

    Reports are `OUT[_<scenario>][_seed<S>].json` and `.md` (the scenario in the name
    when --scenarios was given, the seed when --seeds was); with --seeds, precision
    across seeds goes to `OUT[_<scenario>]_seeds.md`; `OUT_scenarios.md` and `.json`
    are rewritten after every run, so a long run leaves partial results.
    """
    base = args.out
    seeds = [int(x) for x in args.seeds.split(",") if x] if args.seeds else [args.seed]
    everything: list[dict] = []
    for scenario in scenarios:
        stem = base.stem + (f"_{scenario}" if explicit else "")
        reports = []
        for seed in seeds:
            name = stem + (f"_seed{seed}" if args.seeds else "")
            args.seed, args.scenario = seed, scenario
            args.out = base.with_name(f"{name}{base.suffix or '.json'}")
            ladder = Ladder(args)
            ladder.run(sizes)
            reports.append(ladder.report)
            everything.append(ladder.report)
            print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
            write_scenarios(everything, held_out, base)
        if args.seeds:
            summary = base.with_name(f"{stem}_seeds.md")
            summary.write_text(seeds_markdown(reports), encoding="utf-8")
            print(f"wrote {summary}")
    md, js = write_scenarios(everything, held_out, base)
    print(f"wrote {md} and {js}")
    args.out = base
    return everything


if __name__ == "__main__":
    main()
