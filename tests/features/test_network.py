"""Sparse graph operations against networkx as the reference, on random graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from features.network import adjacency, pagerank, two_hop_counts


def _random_graph(seed: int, n: int = 60, m: int = 200):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m)
    dst = rng.integers(0, n, m)
    # a few repeated pairs and self loops to check they are handled like distinct edges
    src = np.concatenate([src, src[:10], [3, 4]])
    dst = np.concatenate([dst, dst[:10], [3, 4]])
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((int(s), int(d)) for s, d in zip(src, dst, strict=True) if s != d)
    return adjacency(src, dst, n), graph


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pagerank_matches_networkx(seed):
    adj, graph = _random_graph(seed)
    ours = pagerank(adj)
    ref = nx.pagerank(graph, alpha=0.85, tol=1e-12, max_iter=500)
    assert np.allclose(ours, [ref[i] for i in range(adj.shape[0])], atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_degrees_and_two_hop_match_networkx(seed, monkeypatch):
    import features.network as network

    monkeypatch.setattr(network, "TWO_HOP_BLOCK", 7)  # exercise the blocking
    adj, graph = _random_graph(seed)
    n = adj.shape[0]
    assert list(np.diff(adj.indptr)) == [graph.out_degree(i) for i in range(n)]
    assert list(np.diff(adj.T.tocsr().indptr)) == [graph.in_degree(i) for i in range(n)]
    ref_out = [
        len({k for j in graph.successors(i) for k in graph.successors(j)} - {i}) for i in range(n)
    ]
    ref_in = [
        len({k for j in graph.predecessors(i) for k in graph.predecessors(j)} - {i})
        for i in range(n)
    ]
    assert list(two_hop_counts(adj)) == ref_out
    assert list(two_hop_counts(adj.T.tocsr())) == ref_in
