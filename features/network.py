"""Whole-graph operations on scipy sparse matrices: adjacency, PageRank, two-hop counts.

Everything here is matrix algebra over integer node ids (see `Context`); nothing
loops over nodes or edges in Python, so a province-scale graph (millions of nodes,
tens of millions of links) costs a few sparse products.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from features.context import Context
from graph.store import active_at

#: PageRank settings, the same as networkx's defaults so the tests can compare
DAMPING = 0.85
PAGERANK_TOL = 1e-10
PAGERANK_MAX_ITER = 200
#: rows per block of the two-hop product, to bound its memory
TWO_HOP_BLOCK = 100_000
#: sparse products split into this many blocks of rows, one thread each (scipy's
#: products let the GIL go; a row's result is the same in a block as in the whole)
PRODUCT_THREADS = min(2, os.cpu_count() or 1)
#: blocks per thread of such a product (see `product_by_rows`)
PRODUCT_BLOCKS_PER_THREAD = 4
#: two-step paths through one company (its suppliers times its customers) above which
#: it is a hub: the paths through a hub are counted, not their distinct ends (see
#: `two_hop_counts`). The simulated worlds stay far below (at most about a million at
#: 3,000,000 companies), so there the counts are exact; a chain leader (链主) with
#: 50,000 suppliers and 50,000 customers would otherwise add 2.5 billion paths.
HUB_PATHS = 2_000_000


def adjacency(src: np.ndarray, dst: np.ndarray, n: int) -> sp.csr_matrix:
    """0/1 matrix with A[s, d] = 1 for each distinct pair (s, d), s != d."""
    keep = src != dst
    data = np.ones(int(keep.sum()), dtype=np.float32)
    mat = sp.csr_matrix((data, (src[keep], dst[keep])), shape=(n, n))
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat


def active_supply(ctx: Context) -> sp.csr_matrix:
    """A[s, c] = 1 when node s supplies node c at `as_of` (started, not ended); cached per build."""
    if "supply" not in ctx.shared:
        sup, cus = ctx.supply_nodes
        active = active_at(ctx.table("supply_links"), "end_on", ctx.as_of)
        ctx.shared["supply"] = adjacency(sup[active], cus[active], ctx.n_nodes)
    return ctx.shared["supply"]


def pagerank(
    links: sp.csr_matrix,
    damping: float = DAMPING,
    tol: float = PAGERANK_TOL,
    max_iter: int = PAGERANK_MAX_ITER,
    backward: sp.csr_matrix | None = None,
) -> np.ndarray:
    """PageRank of the directed graph with an edge i -> j where links[i, j] != 0.

    Uniform teleport; a node without out-links spreads its rank uniformly over all
    nodes (networkx's handling of dangling nodes). Power iteration until the L1
    change is below `tol`; the result sums to 1. `backward` is `links.T.tocsr()` when
    the caller holds it already (a transpose of a million-node graph is 0.2 s).
    """
    if links.shape[0] == 0:
        return np.zeros(0)
    out_degree = np.asarray(links.sum(axis=1)).ravel()
    backward = links.T.tocsr() if backward is None else backward
    return pagerank_steps(
        lambda w: product_by_rows(backward, w), out_degree, damping, tol, max_iter
    )


def pagerank_steps(
    spread_of: Callable[[np.ndarray], np.ndarray],
    out_degree: np.ndarray,
    damping: float = DAMPING,
    tol: float = PAGERANK_TOL,
    max_iter: int = PAGERANK_MAX_ITER,
) -> np.ndarray:
    """The power iteration of `pagerank`, given `spread_of(w) = links.T @ w` and each
    node's out-degree: the product may be computed elsewhere, a block of rows at a time
    (`features.dask_graph`), with the same iterates."""
    n = len(out_degree)
    if n == 0:
        return np.zeros(0)
    dangling = out_degree == 0
    inv = np.zeros(n)
    inv[~dangling] = 1.0 / out_degree[~dangling]
    # x_new = d * (L^T (x / outdeg) + sum(x[dangling]) / n) + (1 - d) / n
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        spread = spread_of(x * inv)
        new = damping * (spread + x[dangling].sum() / n) + (1.0 - damping) / n
        new /= new.sum()
        done = np.abs(new - x).sum() < tol
        x = new
        if done:
            break
    return x


def product_by_rows(matrix: sp.csr_matrix, dense: np.ndarray) -> np.ndarray:
    """`matrix @ dense` (a sparse matrix times a dense one), its rows computed in blocks,
    `PRODUCT_THREADS` side by side: the same floats as the whole product.

    Each block's product is made apart and then copied into the result, so a block is
    `PRODUCT_BLOCKS_PER_THREAD` times smaller than a thread's share: what is held twice
    is a fraction of the result, not the result.
    """
    rows = matrix.shape[0]
    blocks = PRODUCT_THREADS * PRODUCT_BLOCKS_PER_THREAD
    if PRODUCT_THREADS < 2 or rows < 2 * blocks:
        return matrix @ dense
    out = np.empty((rows, *dense.shape[1:]), dtype=np.result_type(matrix.dtype, dense.dtype))
    bounds = np.linspace(0, rows, blocks + 1).astype(int)

    def block(i: int) -> None:
        out[bounds[i] : bounds[i + 1]] = row_view(matrix, bounds[i], bounds[i + 1]) @ dense

    with ThreadPoolExecutor(PRODUCT_THREADS) as pool:
        list(pool.map(block, range(blocks)))
    return out


def row_view(matrix: sp.csr_matrix, start: int, stop: int) -> sp.csr_matrix:
    """Rows `start:stop` of `matrix` sharing its arrays (`matrix[start:stop]` copies them,
    and so does scipy's constructor given slices, hence the arrays set afterwards)."""
    lo, hi = matrix.indptr[start], matrix.indptr[stop]
    view = sp.csr_matrix((stop - start, matrix.shape[1]), dtype=matrix.dtype)
    view.data = matrix.data[lo:hi]
    view.indices = matrix.indices[lo:hi]
    view.indptr = (matrix.indptr[start : stop + 1] - lo).astype(matrix.indptr.dtype)
    return view


def hub_nodes(out_degree: np.ndarray, in_degree: np.ndarray) -> np.ndarray:
    """Per node, whether more than `HUB_PATHS` two-step paths pass through it."""
    return out_degree.astype(np.int64) * in_degree.astype(np.int64) > HUB_PATHS


def paths_through_hubs(
    src: np.ndarray, dst: np.ndarray, hub: np.ndarray, out_degree: np.ndarray
) -> np.ndarray:
    """Per node i, the paths i -> j -> k (k != i) through a hub j, given the links
    (src, dst) (repeated pairs and self links allowed: each distinct pair counts once)
    and every node's out-degree over distinct pairs: one pass over the links, whatever
    the hubs' size."""
    n = len(hub)
    real = src != dst
    into = real & hub[dst]
    pairs = np.unique(src[into].astype(np.int64) * n + dst[into])
    i, j = pairs // n, pairs % n
    # the link back j -> i makes i -> j -> i, which is no two-step neighbour
    out_of = real & hub[src]
    back = np.unique(src[out_of].astype(np.int64) * n + dst[out_of])
    loops = np.isin(j * n + i, back)
    counts = out_degree[j].astype(np.int64) - loops
    return np.bincount(i, weights=counts, minlength=n).astype(np.int64)


def two_hop_counts(links: sp.csr_matrix, rows: int | None = None) -> np.ndarray:
    """Per node i, the nodes k != i with a path i -> j -> k (the first `rows` nodes):
    distinct ones through ordinary nodes j, every path through hubs (`hub_nodes`).

    Without hubs this is the number of distinct two-step neighbours. Through a hub, the
    distinct ends would cost its suppliers times its customers (the sparse product's
    entries); its paths cost one pass over the links, and a company linked to a hub
    has at least the hub's partners two steps away either way (an end also reached
    through another node is counted again). The product with the ordinary nodes is
    formed a block of rows at a time, so its memory stays bounded.
    """
    rows = links.shape[0] if rows is None else rows
    out_degree = np.diff(links.indptr)
    hub = hub_nodes(out_degree, np.bincount(links.indices, minlength=links.shape[1]))
    first = links
    out = np.zeros(rows, dtype=np.int64)
    if hub.any():
        first = without_columns(links, hub)
        src = np.repeat(np.arange(links.shape[0]), out_degree)
        out += paths_through_hubs(src, links.indices, hub, out_degree)[:rows]

    def count(start: int) -> None:
        stop = min(start + TWO_HOP_BLOCK, rows)
        block = row_view(first, start, stop) @ links
        # the start node itself is not a two-hop neighbour (i -> j -> i)
        self_loop = block.diagonal(k=start) != 0
        out[start:stop] += np.diff(block.indptr) - self_loop

    with ThreadPoolExecutor(PRODUCT_THREADS) as pool:
        list(pool.map(count, range(0, rows, TWO_HOP_BLOCK)))
    return out


def without_columns(matrix: sp.csr_matrix, drop: np.ndarray) -> sp.csr_matrix:
    """`matrix` without its entries in the columns where `drop` (a bool per column) is
    set; the order of the other entries within each row is kept."""
    kept = matrix.copy()
    kept.data = kept.data * ~drop[kept.indices]
    kept.eliminate_zeros()
    return kept
