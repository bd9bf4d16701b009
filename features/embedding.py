"""Graph embedding: FastRP-style random projection of the combined company graph.

The graph joins companies through supply links (both directions), shared investors
and co-filed patents. Investors and co-filed rights enter as nodes of their own
(bipartite), which links two companies sharing an investor at two hops without
materialising the quadratic investor-company-company projection.

Each node's random vector is derived from a hash of its key (credit code, investor
id, right id) and the seed, not from its position, so a company keeps the same
random vector whatever else is in the graph at `as_of`. That keeps the embedding
dimensions comparable between a training date and a scoring date.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.context import Context, present_sorted
from features.network import active_supply, product_by_rows

PREFIX = "emb_"
DIMENSIONS = 32
#: weight of each propagation step (1, 2, 3 hops); hop 0, the node's own noise, is left out
ITERATION_WEIGHTS = (1.0, 1.0, 0.5)
SEED = 20260101
#: FastRP's sparse projection: +-sqrt(3) with probability 1/6 each, else 0
_SPARSITY = 3.0

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def compute(ctx: Context, dimensions: int = DIMENSIONS, seed: int = SEED) -> pd.DataFrame:
    adj, projection = combined_graph(ctx, dimensions, seed)
    embedding = fastrp(adj, projection, ITERATION_WEIGHTS)[: ctx.n]
    return pd.DataFrame(embedding, columns=[f"{PREFIX}{i:02d}" for i in range(dimensions)])


def combined_graph(
    ctx: Context, dimensions: int = DIMENSIONS, seed: int = SEED
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Symmetric 0/1 adjacency over company nodes + investors + co-filed rights, and the
    random vector of every node (a function of its key: see `random_vectors`)."""
    coo = active_supply(ctx).tocoo()
    src, dst, total, vectors = combined_edges(
        ctx, (coo.row.astype(np.int64), coo.col.astype(np.int64)), dimensions, seed
    )
    s, d = np.concatenate(src), np.concatenate(dst)
    return adjacency_rows(s, d, total, total), np.concatenate(vectors)


def adjacency_rows(src: np.ndarray, dst: np.ndarray, rows: int, columns: int) -> sp.csr_matrix:
    """0/1 matrix with A[s, d] = 1 for each distinct pair (s, d): the whole combined
    graph, or a block of its rows when `src` counts from the block's first row."""
    data = np.ones(len(src), dtype=np.float32)
    adj = sp.csr_matrix((data, (src, dst)), shape=(rows, columns))
    adj.sum_duplicates()
    adj.data[:] = 1.0
    return adj


def combined_edges(
    ctx: Context,
    supply: tuple[np.ndarray, np.ndarray],
    dimensions: int = DIMENSIONS,
    seed: int = SEED,
) -> tuple[list[np.ndarray], list[np.ndarray], int, list[np.ndarray]]:
    """The edges (src, dst) of the combined graph, both directions, repeats allowed, with
    its node count and every node's random vector; `supply` holds the (supplier,
    customer) node pairs of the active links, without self-links.

    Each comes in pieces (the edges one after the other, the vectors of node 0, 1, ...
    in order), so a caller that sends them away block by block never joins them."""
    n_nodes = ctx.n_nodes
    src = [supply[0], supply[1]]
    dst = [supply[1], supply[0]]

    def draw(keys: pd.Index | pd.Series) -> np.ndarray:
        return random_vectors(pd.Series(keys, dtype="str"), dimensions, seed)

    # a node's vector depends on its key alone, so it is drawn once per key
    at, node_keys = ctx.node_keys
    vectors = [ctx.memo(("emb_nodes", dimensions, seed), lambda: draw(node_keys))[at]]

    # investor nodes in the order of their ids, as are the co-filed rights below
    inv_codes, inv_uniques = ctx.codes("investments", "investor_id")
    present, rank = present_sorted(inv_codes, inv_uniques)
    inv_nodes = n_nodes + rank[inv_codes]
    investees = ctx.investee_nodes
    src += [investees, inv_nodes]
    dst += [inv_nodes, investees]
    table = ctx.memo(
        ("emb_investors", dimensions, seed),
        lambda: draw("investor:" + pd.Series(inv_uniques, dtype="str")),
    )
    vectors.append(table[present])
    offset = n_nodes + len(present)

    holder = ctx.node_ids_of("patents", "uscc")  # applicants that are company nodes
    ok = holder >= 0
    ip_all, ip_uniques = ctx.codes("patents", "ip_id")
    ip_codes = ip_all[ok]
    # a right links companies only when at least two known applicants share it
    shared = np.bincount(ip_codes, minlength=len(ip_uniques)) >= 2
    ip_order, new_id = present_sorted(np.flatnonzero(shared), ip_uniques)
    ip_nodes = new_id[ip_codes]
    keep = ip_nodes >= 0
    holders = holder[ok][keep]
    ip_nodes = offset + ip_nodes[keep]
    src += [holders, ip_nodes]
    dst += [ip_nodes, holders]
    vectors.append(draw("ip:" + pd.Series(ip_uniques[ip_order], dtype="str")))

    total = offset + len(ip_order)
    return src, dst, total, vectors


def random_vectors(keys: pd.Series, dimensions: int, seed: int) -> np.ndarray:
    """A sparse random sign vector per key, a pure function of (key, seed)."""
    hashed = pd.util.hash_array(keys.to_numpy(dtype=object), hash_key=f"{seed:016d}"[-16:])
    out = np.empty((len(keys), dimensions), dtype=np.float32)
    scale = np.float32(np.sqrt(_SPARSITY))
    with np.errstate(over="ignore"):
        for j in range(dimensions):
            z = _mix(hashed + np.uint64(j + 1) * _GOLDEN)
            u = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)  # uniform in [0, 1)
            low, high = 1.0 / (2 * _SPARSITY), 1.0 - 1.0 / (2 * _SPARSITY)
            out[:, j] = np.where(u < low, -scale, np.where(u >= high, scale, 0.0))
    return out


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: decorrelates consecutive inputs."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fastrp(adj: sp.csr_matrix, projection: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Weighted sum of L2-normalised propagations (D^-1 A)^k R, then L2-normalised per row."""
    degree = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.zeros_like(degree, dtype=np.float32)
    inv[degree > 0] = 1.0 / degree[degree > 0]
    step = (sp.diags(inv) @ adj).tocsr().astype(np.float32)
    return fastrp_steps(lambda m: product_by_rows(step, m), projection, weights)


def fastrp_steps(
    step_of: Callable[[np.ndarray], np.ndarray],
    projection: np.ndarray,
    weights: tuple[float, ...],
) -> np.ndarray:
    """The propagations of `fastrp`, given `step_of(m) = D^-1 A @ m`: the product may be
    computed elsewhere, a block of rows at a time (`features.dask_graph`)."""
    current = projection
    total = np.zeros_like(projection)
    for weight in weights:
        current = step_of(current)
        add_step(total, current, weight)
    return normalise(total)


def add_step(total: np.ndarray, current: np.ndarray, weight: float) -> None:
    """`total += weight * current`, each row of `current` L2-normalised first, in place
    (one matrix of the rows' size made at a time). Rows are independent, so a block of
    rows gives the same floats as the whole."""
    scaled = normalise(current)
    scaled *= np.float32(weight)
    total += scaled


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm (rows of norm 0 stay 0)."""
    norm = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norm, out=np.zeros_like(matrix), where=norm > 0)
