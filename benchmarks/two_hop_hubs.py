"""Two-hop counts of the supply chain on a network with one hub.

    python benchmarks/two_hop_hubs.py --nodes 1000000 --links-per-node 5 --hub 0 20000 50000

The supply-chain family counts each company's distinct second-tier customers and
suppliers (`features.network.two_hop_counts`) from the sparse product A·A, a block of
rows at a time. Its work and memory grow with the paths i → j → k, so one company
with many suppliers *and* many customers (a chain leader, 链主) adds suppliers ×
customers of them. Our simulated worlds have no such hub; real provinces may. This
prints, for a random network of --nodes with --links-per-node links each and one node
with --hub suppliers and as many customers, the CPU seconds of one call and the
process's peak memory so far (each hub size is measured after the smaller ones).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.network import adjacency, two_hop_counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--links-per-node", type=int, default=5)
    parser.add_argument("--hub", type=int, nargs="+", default=[0, 20_000, 50_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.nodes
    src = rng.integers(0, n, args.links_per_node * n)
    dst = rng.integers(0, n, args.links_per_node * n)
    print("| hub suppliers = customers | two-hop counts, CPU s | peak RSS so far, MB |")
    print("|---:|---:|---:|")
    for hub in sorted(args.hub):
        # node 0 buys from `hub` suppliers and sells to `hub` customers
        s = np.concatenate([src, rng.integers(1, n, hub), np.zeros(hub, dtype=np.int64)])
        d = np.concatenate([dst, np.zeros(hub, dtype=np.int64), rng.integers(1, n, hub)])
        links = adjacency(s, d, n)
        start = time.process_time()
        two_hop_counts(links, n)
        seconds = time.process_time() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {hub:,} | {seconds:.1f} | {peak:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
