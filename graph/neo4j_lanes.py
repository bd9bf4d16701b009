"""Batches of one relationship table that can be written at the same time without conflict.

Two write transactions that touch the same node both lock it; when each waits for a node
the other holds, Neo4j ends one of them as a deadlock and the driver runs it again.
Loading several tables at once did that (a company is an end of most tables' rows),
and only a load of several tables could run side by side. Here one table's rows are
dealt to *groups* by the nodes they touch: each end node falls in one of a few classes
by a stable hash of its key, a group holds the rows whose ends fall in given classes,
and the groups of a *round* use disjoint classes, so the transactions of one round
never write the same node. The rounds run one after another; rows keep their order
within a group, and a rerun deals them to the same groups.

Not every conflict is gone: linking a new relationship into its nodes' chains also
locks the relationship at the head of each chain, which may join a node of this group
to a node of another (an earlier row of another table, say). Such a deadlock is rarer
and is retried by the driver like any other; it costs time, never a row.

With `lanes` groups at once:
- ends of two labels (a company and an IP right): `lanes` classes per label; round `r`,
  group `g` holds the rows from class `g` to class `(g + r) % lanes`.
- ends of one label (a supplier and a customer, both companies): `2 * lanes` classes, and
  the rounds of a round-robin tournament between them (the circle method): each round
  pairs every class with one other, a group holds the rows between its pair in either
  direction, and the first round's groups also take the rows within each of their
  classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def classes(keys: pa.Array, count: int) -> np.ndarray:
    """A class in `0 … count - 1` per key, the same for the same text in any process."""
    text = np.asarray(keys.to_numpy(zero_copy_only=False), dtype=object)
    hashed = pd.util.hash_array(text, categorize=True)
    return (hashed % np.uint64(count)).astype(np.int64)


def tournament(teams: int) -> list[list[tuple[int, int]]]:
    """Rounds pairing `teams` (even) classes so that each pair meets exactly once and
    each class plays once a round (the circle method)."""
    assert teams % 2 == 0 and teams >= 2, teams
    last = teams - 1
    rounds = []
    for r in range(last):
        pairs = [(last, r)]
        pairs += [((r + i) % last, (r - i) % last) for i in range(1, teams // 2)]
        rounds.append(pairs)
    return rounds


def groups(start: pa.Array, end: pa.Array, same_label: bool, lanes: int) -> list[list[np.ndarray]]:
    """Per round, per group, the positions of the rows it holds (ascending); every row is
    in exactly one group, empty groups are left out, and so are empty rounds."""
    if lanes <= 1:
        return [[np.arange(len(start))]]
    if same_label:
        count = 2 * lanes
        a, b = classes(start, count), classes(end, count)
        round_of = np.zeros((count, count), dtype=np.int64)
        group_of = np.zeros((count, count), dtype=np.int64)
        for r, pairs in enumerate(tournament(count)):
            for g, (x, y) in enumerate(pairs):
                round_of[x, y] = round_of[y, x] = r
                group_of[x, y] = group_of[y, x] = g
                if r == 0:
                    round_of[x, x] = round_of[y, y] = 0
                    group_of[x, x] = group_of[y, y] = g
        cell_round, cell_group = round_of[a, b], group_of[a, b]
        rounds = count - 1
    else:
        a, b = classes(start, lanes), classes(end, lanes)
        cell_round, cell_group = (b - a) % lanes, a
        rounds = lanes
    slot = cell_round * lanes + cell_group
    order = np.argsort(slot, kind="stable")
    bounds = np.searchsorted(slot[order], np.arange(rounds * lanes + 1))
    out = []
    for r in range(rounds):
        parts = [order[bounds[s] : bounds[s + 1]] for s in range(r * lanes, (r + 1) * lanes)]
        parts = [p for p in parts if len(p)]
        if parts:
            out.append(parts)
    return out
