"""Two-hop counts of the supply chain on a network with one hub.

    python benchmarks/two_hop_hubs.py --nodes 1000000 --links-per-node 5 --hub 0 20000 50000 200000

The supply-chain family counts each company's second-tier customers and suppliers
(`features.network.two_hop_counts`). Distinct ends come from the sparse product A·A,
whose work and memory grow with the paths i → j → k, so one company with many
suppliers *and* many customers (a chain leader, 链主) would add suppliers × customers
of them; through such a hub (`features.network.HUB_PATHS`) the paths are counted
instead, in one pass over the links. Our simulated worlds have no hub; real provinces
may. This prints, for a random network of --nodes with --links-per-node links each and
one node with --hub suppliers and as many customers, the CPU seconds of one call and
the process's peak memory so far (each hub size is measured after the smaller ones),
and, up to --exact-up-to, the same for distinct ends everywhere (no hub) with how far
the hub's paths are above the distinct ends for the companies linked to it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features import network
from features.network import HUB_PATHS, adjacency, two_hop_counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--links-per-node", type=int, default=5)
    parser.add_argument("--hub", type=int, nargs="+", default=[0, 20_000, 50_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact-up-to", type=int, default=50_000)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.nodes
    src = rng.integers(0, n, args.links_per_node * n)
    dst = rng.integers(0, n, args.links_per_node * n)
    print(
        "| hub suppliers = customers | CPU s | peak RSS so far, MB "
        "| distinct ends everywhere: CPU s | peak RSS so far, MB "
        "| linked to the hub: paths over distinct ends, median | max |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for hub in sorted(args.hub):
        # node 0 buys from `hub` suppliers and sells to `hub` customers
        s = np.concatenate([src, rng.integers(1, n, hub), np.zeros(hub, dtype=np.int64)])
        d = np.concatenate([dst, np.zeros(hub, dtype=np.int64), rng.integers(1, n, hub)])
        links = adjacency(s, d, n)
        counts, seconds, peak = _measured(links, n)
        exact = "| – | – | – | – |"
        if hub <= args.exact_up_to:
            network.HUB_PATHS = np.iinfo(np.int64).max  # distinct ends everywhere
            distinct, seconds_exact, peak_exact = _measured(links, n)
            network.HUB_PATHS = HUB_PATHS
            # the hub's suppliers: their paths i -> hub -> k are the ones counted
            linked = links[:, [0]].toarray().ravel() != 0
            ratio = counts[linked] / np.maximum(distinct[linked], 1) if hub else np.ones(1)
            exact = (
                f"| {seconds_exact:.1f} | {peak_exact:,.0f} "
                f"| {np.median(ratio):.3f} | {ratio.max():.3f} |"
            )
        print(f"| {hub:,} | {seconds:.1f} | {peak:,.0f} {exact}", flush=True)


def _measured(links, n: int) -> tuple[np.ndarray, float, float]:
    start = time.process_time()
    counts = two_hop_counts(links, n)
    seconds = time.process_time() - start
    return counts, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
