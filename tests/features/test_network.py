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
def test_pagerank_given_the_transpose_is_bit_for_bit_the_same(seed):
    """supply_chain passes the supplies matrix as the transpose of the buyers': the same
    arrays as the transpose made here, so the same iterates to the last bit."""
    supplies, _ = _random_graph(seed)
    bought = supplies.T.tocsr()
    made = bought.T.tocsr()
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(made, name), getattr(supplies, name))
    assert np.array_equal(pagerank(bought, backward=supplies), pagerank(bought))


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


def _hub_reference(graph: nx.DiGraph, hubs: set[int], forward: bool) -> list[int]:
    """Distinct ends through ordinary nodes, plus every path through a hub (the ends of
    `two_hop_counts` once hubs are named), by walking the graph."""
    step = graph.successors if forward else graph.predecessors
    out = []
    for i in graph.nodes:
        ordinary = {k for j in step(i) if j not in hubs for k in step(j)} - {i}
        through = sum(1 for j in step(i) if j in hubs for k in step(j) if k != i)
        out.append(len(ordinary) + through)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_hop_counts_paths_through_hubs_instead_of_distinct_ends(seed, monkeypatch):
    """A chain leader with many suppliers and customers: the paths through it are
    counted (one pass over the links), the ends through other nodes stay distinct."""
    import features.network as network

    monkeypatch.setattr(network, "TWO_HOP_BLOCK", 7)
    rng = np.random.default_rng(seed)
    n = 60
    src, dst = rng.integers(0, n, 200), rng.integers(0, n, 200)
    # node 0 buys from 25 nodes and sells to 25, some in both roles (i -> 0 -> i)
    suppliers, customers = rng.choice(np.arange(1, n), 25), rng.choice(np.arange(1, n), 25)
    src = np.concatenate([src, suppliers, np.zeros(25, int), src[:5], [7]])
    dst = np.concatenate([dst, np.zeros(25, int), customers, dst[:5], [7]])
    adj = adjacency(src, dst, n)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((int(s), int(d)) for s, d in zip(src, dst, strict=True) if s != d)
    paths = [graph.in_degree(j) * graph.out_degree(j) for j in range(n)]
    monkeypatch.setattr(network, "HUB_PATHS", sorted(set(paths))[-3])  # two busiest or more
    hubs = {j for j in range(n) if paths[j] > network.HUB_PATHS}
    assert 0 in hubs and len(hubs) >= 2
    assert set(graph.successors(0)) & set(graph.predecessors(0))  # a loop through the hub
    assert list(two_hop_counts(adj)) == _hub_reference(graph, hubs, forward=True)
    assert list(two_hop_counts(adj.T.tocsr())) == _hub_reference(graph, hubs, forward=False)
    # without hubs the counts are the distinct ends again
    monkeypatch.setattr(network, "HUB_PATHS", max(paths))
    assert list(two_hop_counts(adj)) == _hub_reference(graph, set(), forward=True)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("columns", [None, 5])
def test_a_product_by_blocks_of_rows_is_the_whole_product_bit_for_bit(
    monkeypatch, threads, columns
):
    import scipy.sparse as sp

    import features.network as network

    monkeypatch.setattr(network, "PRODUCT_THREADS", threads)
    monkeypatch.setattr(network, "TWO_HOP_BLOCK", 97)  # many blocks, in threads
    rng = np.random.default_rng(7)
    n, m = 1_001, 20_000
    matrix = sp.csr_matrix(
        (rng.random(m).astype(np.float32), (rng.integers(0, n, m), rng.integers(0, n, m))),
        shape=(n, n),
    )
    dense = rng.random(n if columns is None else (n, columns)).astype(np.float32)
    got = network.product_by_rows(matrix, dense)
    assert got.shape == (matrix @ dense).shape and got.dtype == (matrix @ dense).dtype
    np.testing.assert_array_equal(got, matrix @ dense)
    # and the two-hop counts do not depend on how many threads count them
    assert np.array_equal(network.two_hop_counts(matrix), _two_hop_serial(matrix))


def _two_hop_serial(matrix):
    square = (matrix @ matrix).tocsr()
    square.setdiag(0)
    square.eliminate_zeros()
    return np.diff(square.indptr)


def test_a_row_view_is_the_rows_without_a_copy():
    import scipy.sparse as sp

    from features.network import row_view

    rng = np.random.default_rng(3)
    n, m = 400, 6_000
    matrix = sp.csr_matrix(
        (rng.random(m).astype(np.float32), (rng.integers(0, n, m), rng.integers(0, n, m))),
        shape=(n, n),
    )
    for start, stop in [(0, 0), (0, n), (37, 211), (n - 1, n)]:
        view = row_view(matrix, start, stop)
        assert view.shape == (stop - start, n)
        assert (view != matrix[start:stop]).nnz == 0
        if view.nnz:
            assert np.shares_memory(view.data, matrix.data)
            assert np.shares_memory(view.indices, matrix.indices)
