"""Sparse matrices on a Dask cluster, held as blocks of rows, for the graph families
(`features.dask_families`).

Each worker holds blocks of rows of the supply adjacency (`[s, c] = 1`: s supplies c),
of its transpose, and of the embedding's combined graph, built from the edges whose
row node lies in the block; no process ever holds a whole matrix. A block keeps only
the columns it uses (`RowBlock.cols`), so a product with a vector or a matrix needs
only those rows of it, sent to the worker that holds the block:

- counts of flagged neighbours: each block times the flag vector;
- PageRank: `features.network.pagerank_steps` with the product `L^T w` done block by
  block (the client keeps the rank vector, one float per node, and sends each block
  the entries its columns use);
- two-hop counts: block i of A times A is the sum over blocks p of A[i, p] @ A[p, :],
  each product done where block p lives, the partial results added where i lives (the
  hubs' columns left out of A[i, p]: the client counts the paths through them from
  the edges, as `features.network.two_hop_counts` does);
- the embedding: `features.embedding.fastrp_steps` with its iterates held on the
  workers too, as the blocks' rows (`Blocks.fastrp`): each block takes the rows its
  columns use from the blocks that hold them, worker to worker, and the client
  receives only the companies' rows of the result.

Every row of a block has the same entries in the same order as that row of the whole
matrix, so each product gives the same floats, bit for bit, as `features.network` and
`features.embedding` on one machine.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from features import embedding
from features.network import without_columns
from features.partitions import sorted_unique

#: products sent to each worker before the client waits for the oldest one's answer
IN_FLIGHT_PER_WORKER = 2


@dataclass
class RowBlock:
    """Rows `lo`..`lo + rows` of a sparse matrix, its columns cut down to `cols` (global ids)."""

    lo: int
    rows: int
    columns: int  # the whole matrix's column count
    matrix: sp.csr_matrix  # rows x len(cols)
    cols: np.ndarray


def _compress(lo: int, full: sp.csr_matrix) -> RowBlock:
    """A block of rows with its used columns only; the order of entries within a row
    is kept (an unsorted product stays as the whole matrix's row would be)."""
    cols = sorted_unique(full.indices)
    local = np.searchsorted(cols, full.indices)
    matrix = sp.csr_matrix((full.data, local, full.indptr), shape=(full.shape[0], len(cols)))
    return RowBlock(lo, full.shape[0], full.shape[1], matrix, cols.astype(np.int64))


def edge_block(lo: int, hi: int, columns: int, src: np.ndarray, dst: np.ndarray) -> RowBlock:
    """Rows lo..hi of the 0/1 matrix of the edges (src, dst) (those with src in range)."""
    return _compress(lo, embedding.adjacency_rows(src - lo, dst, hi - lo, columns))


def step_block(block: RowBlock) -> RowBlock:
    """The same rows of D^-1 A, A symmetric (as `features.embedding.fastrp`)."""
    full = sp.csr_matrix(
        (block.matrix.data, block.cols[block.matrix.indices], block.matrix.indptr),
        shape=(block.rows, block.columns),
    )
    degree = np.asarray(full.sum(axis=1)).ravel()
    inv = np.zeros_like(degree, dtype=np.float32)
    inv[degree > 0] = 1.0 / degree[degree > 0]
    return _compress(block.lo, (sp.diags(inv) @ full).tocsr().astype(np.float32))


def times(block: RowBlock, values: np.ndarray) -> np.ndarray:
    """The block's rows of (matrix @ x), given x's rows at `block.cols`."""
    return block.matrix @ values


def row_degree(block: RowBlock) -> np.ndarray:
    return np.diff(block.matrix.indptr).astype(np.int64)


def row_sums(block: RowBlock) -> np.ndarray:
    return np.asarray(block.matrix.sum(axis=1)).ravel()


def cols_of(block: RowBlock) -> np.ndarray:
    return block.cols


def columns_in(
    block: RowBlock, lo: int, hi: int, skip: np.ndarray | None = None
) -> sp.csr_matrix | None:
    """The block's entries in columns lo..hi, those columns numbered from lo, less those
    in the columns `skip` (sorted global ids, if given); None when no entry is left."""
    a, b = np.searchsorted(block.cols, [lo, hi])
    if a == b:
        return None
    sub = block.matrix[:, a:b].tocsr()
    if skip is not None and len(skip):
        sub = without_columns(sub, np.isin(block.cols[a:b], skip))
    if sub.nnz == 0:
        return None
    return sp.csr_matrix(
        (sub.data, block.cols[a:b][sub.indices] - lo, sub.indptr), shape=(block.rows, hi - lo)
    )


def through(part: sp.csr_matrix | None, block: RowBlock) -> sp.csr_matrix | None:
    """`part` (rows of A in the columns of `block`'s rows) times those rows of A, as
    a matrix over the whole's columns."""
    if part is None:
        return None
    prod = (part @ block.matrix).tocsr()
    return sp.csr_matrix(
        (prod.data, block.cols[prod.indices], prod.indptr), shape=(part.shape[0], block.columns)
    )


def two_hop(lo: int, rows: int, *partials: sp.csr_matrix | None) -> np.ndarray:
    """Distinct nodes two steps away per row through the nodes the partials kept (the
    hubs left out), the row's own node left out (as `features.network.two_hop_counts`)."""
    present = [p for p in partials if p is not None]
    if not present:
        return np.zeros(rows, dtype=np.int64)
    total = present[0]
    for p in present[1:]:
        total = total + p
    total = total.tocsr()
    total.sum_duplicates()
    self_loop = total.diagonal(k=lo) != 0
    return (np.diff(total.indptr) - self_loop).astype(np.int64)


def ranges_used(block: RowBlock, bounds: np.ndarray) -> list[int]:
    """The ranges of rows (blocks) that hold the block's columns, in order."""
    return sorted_unique(np.searchsorted(bounds, block.cols, side="right") - 1).tolist()


def columns_within(block: RowBlock, lo: int, hi: int) -> np.ndarray:
    """The block's columns in lo..hi, numbered from lo: the rows it reads from that range."""
    a, b = np.searchsorted(block.cols, [lo, hi])
    return block.cols[a:b] - lo


def rows_of(pieces: list[np.ndarray], lo: int, hi: int) -> np.ndarray:
    """Rows lo..hi of the pieces' rows taken one after the other (a copy)."""
    out, start = [], 0
    for piece in pieces:
        end = start + len(piece)
        if start < hi and lo < end:
            out.append(piece[max(lo - start, 0) : min(hi, end) - start])
        start = end
    return np.concatenate(out) if out else pieces[0][:0].copy()


def take_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return values[rows]


def advance(block: RowBlock, dims: int, *pieces: np.ndarray) -> np.ndarray:
    """The block's rows of (matrix @ values), given the values' rows at `block.cols` in
    pieces, one per range of rows in order: together exactly `values[block.cols]`."""
    if not pieces:
        return times(block, np.zeros((0, dims), dtype=np.float32))
    return times(block, pieces[0] if len(pieces) == 1 else np.concatenate(pieces))


def weighted(total: np.ndarray | None, current: np.ndarray, weight: float) -> np.ndarray:
    """A new total: the old one (None: zeros) plus a weighted step (as `fastrp_steps`)."""
    out = np.zeros_like(current) if total is None else total.copy()
    embedding.add_step(out, current, weight)
    return out


def normalised_head(total: np.ndarray, rows: int) -> np.ndarray:
    """The first `rows` rows of the normalised total (the companies' rows of a block)."""
    return embedding.normalise(total[:rows])


def bounded(client: Any, calls: Iterable[Callable[[], Any]]) -> Iterator[Any]:
    """The results of `calls` (each starts a task or an actor call and returns its
    future), in order; a call is started only once fewer than `IN_FLIGHT_PER_WORKER`
    per worker are pending, and each result is fetched as its own message. So the
    workers never hold every answer at once waiting to be sent, nor the client every
    input at once (gathering them all makes a worker serialise all its answers into
    one message, which at national scale is gigabytes beside its partitions)."""
    in_flight = IN_FLIGHT_PER_WORKER * max(len(client.scheduler_info()["workers"]), 1)
    pending: deque[Any] = deque()
    for call in calls:
        if len(pending) == in_flight:
            yield pending.popleft().result()
        pending.append(call())
    while pending:
        yield pending.popleft().result()


class Holder:
    """A block kept by an actor on its worker, for the products of an iteration."""

    def __init__(self, block: RowBlock) -> None:
        self.block = block

    def times(self, sent: list[np.ndarray]) -> np.ndarray:
        """The block times the values that came in `sent` (emptied here: see `ActorCall`)."""
        return times(self.block, sent.pop())


class ActorCall:
    """An actor method called with one large argument, which is let go once answered.

    distributed keeps an actor call's arguments in a reference cycle (the coroutine that
    sends them refers to itself, to retry), so they stay in memory until Python's
    cyclic garbage collector happens to run: an embedding's iteration sends every
    block the rows of the values it reads, 3.4 times the whole matrix at a million
    companies, and each iteration's copies stayed until the family ended (the client
    grew 0.6 GB an iteration there). The argument travels in a list that this call
    empties once the answer is in, and the worker as it takes it out, so the cycle
    keeps an empty list. Has `result()`, as the futures `bounded` takes.
    """

    def __init__(self, method: Callable[[list[Any]], Any], value: Any) -> None:
        self._sent = [value]
        self._future = method(self._sent)

    def result(self) -> Any:
        try:
            return self._future.result()
        finally:
            self._sent.clear()


class Blocks:
    """A sparse matrix on the cluster: one `RowBlock` future per range of rows."""

    def __init__(self, client: Any, futures: list[Any], bounds: np.ndarray) -> None:
        self.client = client
        self.futures = futures
        self.bounds = bounds
        self._cols: list[np.ndarray] | None = None
        self._holders: list[tuple[Any, Any]] | None = None

    @classmethod
    def of_edges(
        cls,
        client: Any,
        src: list[np.ndarray],
        dst: list[np.ndarray],
        size: int,
        parts: int,
    ) -> Blocks:
        """The 0/1 matrix (size x size) of the edges, `parts` blocks of rows; the edges
        come in pieces (`src[i]`, `dst[i]`), taken as one after the other."""
        bounds = np.linspace(0, size, parts + 1).astype(np.int64)
        futures = []
        for k in range(parts):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            # the block's edges in their first order, found by a pass over the edges
            # (not a sort of them all: at national scale each index array is gigabytes)
            chosen = [np.flatnonzero((s >= lo) & (s < hi)) for s in src]
            s, d = client.scatter(
                [
                    np.concatenate([s[rows] for s, rows in zip(src, chosen, strict=True)]),
                    np.concatenate([d[rows] for d, rows in zip(dst, chosen, strict=True)]),
                ],
                hash=False,
            )
            del chosen
            futures.append(client.submit(edge_block, lo, hi, size, s, d, pure=False))
        return cls(client, futures, bounds)

    def map(self, func: Any, *args: Any) -> list[Any]:
        return [self.client.submit(func, f, *args, pure=False) for f in self.futures]

    def gather(self, func: Any, *args: Any) -> np.ndarray:
        """`func(block, *args)` per block, the results one after the other."""
        return np.concatenate(self.client.gather(self.map(func, *args)))

    @property
    def cols(self) -> list[np.ndarray]:
        if self._cols is None:
            self._cols = self.client.gather(self.map(cols_of))
        return self._cols

    def times(self, values: np.ndarray) -> np.ndarray:
        """matrix @ values (a vector or a matrix of rows), each block sent its rows only.

        An iteration asks this many times, so each block is also held by an actor on its
        worker, which the client calls directly instead of scheduling a task per block."""
        if self._holders is None:
            made = [
                self.client.submit(Holder, f, actor=True, workers=self._where(k), pure=False)
                for k, f in enumerate(self.futures)
            ]
            self._holders = [(f, f.result()) for f in made]
        # a few blocks' rows in flight per worker, not every block's at once: the rows a
        # block uses are copied to be sent, and at national scale the blocks' rows of an
        # embedding add up to several times the whole matrix of values
        assert self._holders is not None
        calls = (
            lambda holder=holder, cols=cols: ActorCall(holder.times, values[cols])
            for (_, holder), cols in zip(self._holders, self.cols, strict=True)
        )
        out: np.ndarray | None = None  # made with the first answer's type
        for k, rows in enumerate(bounded(self.client, calls)):
            if out is None:
                out = np.empty((int(self.bounds[-1]), *rows.shape[1:]), dtype=rows.dtype)
            out[self.bounds[k] : self.bounds[k + 1]] = rows
        assert out is not None  # a matrix has at least one block
        return out

    def fastrp(
        self, projection: list[np.ndarray], weights: tuple[float, ...], keep: int
    ) -> np.ndarray:
        """`features.embedding.fastrp_steps(self.times, projection, weights)[:keep]`, with
        the same floats, the iterates held on the workers as the blocks' rows; the
        projection comes in pieces (its rows one after the other), never joined here.

        The client sends each block the projection's rows once and receives the first
        `keep` rows (the companies) of the result: it never holds the iterates, the total
        or the rows sent to each block, each a matrix of the nodes' size or more (the
        rows the blocks read add up to 3.4 times the matrix at a million companies). Each
        block reads the rows its columns use from the blocks that hold them (a task per
        pair of blocks, run where the rows are), so those rows go worker to worker.
        """
        from distributed import wait

        client, bounds, dims = self.client, self.bounds, projection[0].shape[1]
        ranges = [
            (int(bounds[k]), int(bounds[k + 1]), self._where(k)) for k in range(len(self.futures))
        ]
        current = [
            client.scatter([rows_of(projection, lo, hi)], workers=where, hash=False)[0]
            for lo, hi, where in ranges
        ]
        used = client.gather(
            [client.submit(ranges_used, f, bounds, pure=False) for f in self.futures]
        )
        reads = [
            [(p, client.submit(columns_within, f, *ranges[p][:2], pure=False)) for p in used[i]]
            for i, f in enumerate(self.futures)
        ]
        total: list[Any] = [None] * len(self.futures)
        in_flight = IN_FLIGHT_PER_WORKER * max(len(client.scheduler_info()["workers"]), 1)
        for weight in weights:
            steps: list[Any] = []
            for i, block in enumerate(self.futures):
                # the blocks before this one finished first, all but `in_flight`: each
                # block's reads are copies, and all of them at once are the 3.4 matrices
                if len(steps) >= in_flight:
                    wait(steps[-in_flight])
                pieces = [
                    client.submit(take_rows, current[p], rows, pure=False) for p, rows in reads[i]
                ]
                steps.append(client.submit(advance, block, dims, *pieces, pure=False))
                total[i] = client.submit(weighted, total[i], steps[i], weight, pure=False)
            current = steps
        del current, reads
        heads = (
            partial(client.submit, normalised_head, t, keep - lo, pure=False)
            for t, (lo, _, _) in zip(total, ranges, strict=True)
            if lo < keep
        )
        out = np.concatenate(list(bounded(client, heads)))
        for t in total:
            t.release()
        return out

    def _where(self, k: int) -> list[str] | None:
        key = self.futures[k].key
        return list(self.client.who_has([self.futures[k]]).get(key, ())) or None

    def two_hop(self, hubs: np.ndarray) -> np.ndarray:
        """`features.network.two_hop_counts` of the whole matrix (every row) but the
        paths through the hubs (`hubs`, sorted node ids), which the caller adds."""
        counts = []
        for i, block in enumerate(self.futures):
            partials = []
            for p, other in enumerate(self.futures):
                lo, hi = int(self.bounds[p]), int(self.bounds[p + 1])
                skip = hubs[(hubs >= lo) & (hubs < hi)]
                part = self.client.submit(columns_in, block, lo, hi, skip, pure=False)
                partials.append(self.client.submit(through, part, other, pure=False))
            counts.append(
                self.client.submit(
                    two_hop,
                    int(self.bounds[i]),
                    int(self.bounds[i + 1] - self.bounds[i]),
                    *partials,
                    pure=False,
                )
            )
        return np.concatenate(self.client.gather(counts))

    def release(self) -> None:
        """Let go of the blocks, and of the actors that hold them on the workers.

        An actor's handle sits in reference cycles on the client (its calls' coroutines
        refer to it), and the worker keeps the actor, here a block of the matrix, until
        that handle is collected. So the handles are dropped and collected now: left to
        the collector's own timing, one date's blocks stayed on the workers into the
        next date's partitions, and at 3,000,000 companies a 4 GB worker went past its
        memory limit there and was restarted.
        """
        for f in self.futures:
            f.release()
        for f, _ in self._holders or ():
            f.release()
        self._holders = None
        gc.collect()
