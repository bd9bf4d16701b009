"""Feature build at province scale, and the supply-chain family against networkx.

    python benchmarks/features_bench.py --companies 1000000

Steps, each in a fresh process so its peak memory is its own:
1. simulate a world of N companies (Parquet) and load it into an embedded store
   (skipped when the store for N and the seed already exists under --workdir);
2. build every feature family at --as-of, printing wall time and peak RSS per family;
3. on a world of --nx-companies (default 100,000) compute the supply-chain family
   once with ours and once with a straightforward networkx implementation, check
   they agree, and print the time ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RELATIONSHIP_TABLES = (
    "supply_links",
    "investments",
    "patents",
    "awards",
    "talents",
    "certifications",
    "applications",
    "compliance_events",
    "quality_scores",
    "financials",
    "invitations",
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- stages (each runs in its own process) -------------------------------------------------
def stage_prepare(companies: int, seed: int, workdir: Path) -> dict:
    from discovery.simulation import simulate
    from graph.embedded import EmbeddedStore
    from graph.validation import read_directory

    base = workdir / f"world_{companies}_{seed}"
    store_root = base / "store"
    store = EmbeddedStore(store_root)
    if store.current_version() is not None:
        return {"reused": True, "rows": store.counts()}
    t0 = time.perf_counter()
    simulate(companies, seed, base / "data", base / "truth.csv", fmt="parquet")
    t1 = time.perf_counter()
    batch = read_directory(base / "data")
    store.load(batch)
    t2 = time.perf_counter()
    return {
        "reused": False,
        "simulate_s": t1 - t0,
        "load_s": t2 - t1,
        "rejected": len(batch.rejects),
        "rows": store.counts(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def stage_features(companies: int, seed: int, workdir: Path, as_of: date) -> dict:
    from features import build_features
    from graph.contract import TABLES
    from graph.embedded import EmbeddedStore

    store = EmbeddedStore(workdir / f"world_{companies}_{seed}" / "store")
    t0 = time.perf_counter()
    for name in TABLES:  # bring the Parquet files into memory: store cost, not feature cost
        store.read(name, None)
    warm = time.perf_counter() - t0
    timings: dict[str, dict[str, float]] = {}
    frame = build_features(store, as_of, timings=timings)
    return {
        "store_warm_s": warm,
        "rows": len(frame),
        "columns": len(frame.columns) - 1,
        "timings": timings,
        "peak_rss_mb": _peak_rss_mb(),
    }


def networkx_supply_chain(store, as_of: date):
    """The `chain_*` graph columns the straightforward way: a networkx DiGraph and
    per-company neighbourhoods (indexed by uscc, in `companies` order). The reference
    the vectorised `features.supply_chain` is checked against; benchmarks/peers.py reuses it."""
    import networkx as nx
    import pandas as pd

    from features import holds_at

    comp = store.read("companies", as_of)
    known = store.read("supply_links", as_of)
    links = known[known["end_on"].isna() & (known["supplier_uscc"] != known["customer_uscc"])]
    graph = nx.DiGraph()
    # the same node set as ours: companies, every counterparty of a known link, every investee
    graph.add_nodes_from(comp["uscc"])
    graph.add_nodes_from(known["supplier_uscc"])
    graph.add_nodes_from(known["customer_uscc"])
    graph.add_nodes_from(store.read("investments", as_of)["investee_uscc"])
    graph.add_edges_from(zip(links["supplier_uscc"], links["customer_uscc"], strict=True))
    held = holds_at(store.read("certifications", as_of), as_of)
    groups = {
        "innov": set(held.index[held["tech_sme"] | held["innovative_sme"]]),
        "specialized": set(held.index[held["specialized_sme"]]),
        "little_giant": set(held.index[held["little_giant"]]),
    }
    large = set(comp.loc[comp["size_class"] == "large", "uscc"])
    n_nodes = graph.number_of_nodes()
    # networkx stops when the L1 change is below n * tol; ours below 1e-10 in total
    rank = nx.pagerank(graph.reverse(copy=False), alpha=0.85, tol=1e-10 / n_nodes, max_iter=200)
    rows = []
    for code in comp["uscc"]:
        customers = set(graph.successors(code))
        suppliers = set(graph.predecessors(code))
        row = {
            "chain_customers": len(customers),
            "chain_suppliers": len(suppliers),
            "chain_leader_customers": len(customers & large),
        }
        for group, members in groups.items():
            row[f"chain_customers_{group}"] = len(customers & members)
            row[f"chain_suppliers_{group}"] = len(suppliers & members)
        row["chain_customers_2hop"] = len(
            {k for j in customers for k in graph.successors(j)} - {code}
        )
        row["chain_suppliers_2hop"] = len(
            {k for j in suppliers for k in graph.predecessors(j)} - {code}
        )
        row["chain_pagerank"] = rank[code] * n_nodes
        rows.append(row)
    return pd.DataFrame(rows, index=comp["uscc"])


def stage_networkx(companies: int, seed: int, workdir: Path, as_of: date) -> dict:
    import numpy as np

    from features import build_features
    from graph.contract import TIERS
    from graph.embedded import EmbeddedStore

    store = EmbeddedStore(workdir / f"world_{companies}_{seed}" / "store")
    for name in ("companies", "supply_links", "certifications", "investments"):
        store.read(name, None)

    t0 = time.perf_counter()
    ours = build_features(store, as_of, families=["supply_chain"]).set_index("uscc")
    ours_s = time.perf_counter() - t0

    # -- the straightforward way: a networkx DiGraph and per-company neighbourhoods --------
    t0 = time.perf_counter()
    ref = networkx_supply_chain(store, as_of)
    nx_s = time.perf_counter() - t0
    comp = store.read("companies", as_of)
    known = store.read("supply_links", as_of)
    links = known[known["end_on"].isna() & (known["supplier_uscc"] != known["customer_uscc"])]

    mismatched = [
        c
        for c in ref.columns
        if not np.allclose(
            ours[c].to_numpy(dtype=float), ref[c].to_numpy(dtype=float), rtol=1e-5, atol=1e-7
        )
    ]
    return {
        "companies": len(comp),
        "links_active": len(links),
        "ours_s": ours_s,
        "networkx_s": nx_s,
        "ratio": nx_s / ours_s,
        "mismatched_columns": mismatched,
        "tiers": list(TIERS),
    }


STAGES = {"prepare": stage_prepare, "features": stage_features, "networkx": stage_networkx}


def _run_stage(name: str, args: argparse.Namespace, companies: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--stage",
        name,
        "--companies",
        str(companies),
        "--seed",
        str(args.seed),
        "--workdir",
        str(args.workdir),
        "--as-of",
        args.as_of,
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--companies", type=int, default=1_000_000)
    parser.add_argument("--nx-companies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/features_bench"))
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--skip-networkx", action="store_true")
    parser.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)

    if args.stage:  # a child process: run one stage, print its result as JSON
        fn = STAGES[args.stage]
        extra = () if args.stage == "prepare" else (as_of,)
        print(json.dumps(fn(args.companies, args.seed, args.workdir, *extra)))
        return

    print(f"== world of {args.companies:,} companies (seed {args.seed}), features at {as_of}")
    prep = _run_stage("prepare", args, args.companies)
    links = sum(prep["rows"].get(t, 0) for t in RELATIONSHIP_TABLES)
    if prep["reused"]:
        print(f"store reused from {args.workdir}")
    else:
        print(
            f"simulate {prep['simulate_s']:.1f}s, validate+load {prep['load_s']:.1f}s, "
            f"rejected {prep['rejected']}, peak {prep['peak_rss_mb']:.0f} MB"
        )
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in prep["rows"].items()))
    print(f"links across relationship tables: {links:,}")

    feat = _run_stage("features", args, args.companies)
    print(f"store warm-up (Parquet -> memory, not part of the build): {feat['store_warm_s']:.1f}s")
    print(f"{'family':<14}{'seconds':>10}{'peak RSS MB':>14}{'delta MB':>11}")
    for name, t in feat["timings"].items():
        print(
            f"{name:<14}{t['seconds']:>10.2f}{t['peak_rss_mb']:>14.0f}{t['peak_delta_mb']:>11.0f}"
        )
    total = feat["timings"]["total"]
    print(
        f"feature table: {feat['rows']:,} rows x {feat['columns']} features; build {total['seconds']:.1f}s, "
        f"process peak {feat['peak_rss_mb']:.0f} MB"
    )

    if args.skip_networkx:
        return
    print(f"\n== supply-chain family vs networkx on {args.nx_companies:,} companies")
    prep_nx = _run_stage("prepare", args, args.nx_companies)
    del prep_nx
    cmp = _run_stage("networkx", args, args.nx_companies)
    print(f"companies {cmp['companies']:,}, active links {cmp['links_active']:,}")
    print(
        f"ours {cmp['ours_s']:.2f}s, networkx {cmp['networkx_s']:.2f}s, ratio {cmp['ratio']:.1f}x; "
        f"mismatched columns: {cmp['mismatched_columns'] or 'none'}"
    )


if __name__ == "__main__":
    main()
