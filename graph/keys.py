"""Natural keys as one integer per row: sorting and finding repeats without comparing text.

A link table of millions of rows is keyed by two credit codes and a date. Sorting it
by comparing strings, and finding repeated keys by hashing tuples of them, cost most
of its validation. Here each key column is dictionary-encoded once (Arrow hashes each
value), only its distinct values are sorted, and the columns' ranks are combined into
one int64 per row: one stable integer sort then gives the key order, and a key repeats
exactly where it equals its neighbour in that order.

The order is the one Arrow's stable multi-key sort gives (text by UTF-8 bytes, which is
code-point order; missing values last; ties in the order rows came).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Coded:
    """A column as positions into its distinct values (-1: missing) and those values."""

    positions: np.ndarray
    uniques: pa.Array

    def ranks(self) -> tuple[np.ndarray, int]:
        """Each row's rank among the distinct values (ascending, missing last: the
        highest rank) and the number of ranks."""
        k = len(self.uniques)
        if k == 0:
            return np.zeros(len(self.positions), dtype=np.int32), 1
        ranked = pc.rank(self.uniques, sort_keys="ascending", tiebreaker="first")
        kind = np.int32 if k < np.iinfo(np.int32).max else np.int64
        lookup = np.append(np.asarray(ranked).astype(kind) - 1, kind(k))
        return lookup[self.positions], k + 1


def code(values: pd.Series | np.ndarray) -> Coded:
    """`values` dictionary-encoded by Arrow (NaN, NaT and NA are missing)."""
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):  # one dictionary for the whole column
        array = array.combine_chunks()
    encoded = pc.dictionary_encode(array)
    # int32 positions (Arrow's own indices): half the memory of int64 on a long table
    positions = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return Coded(positions, encoded.dictionary)


def key_order(
    frame: pd.DataFrame, keys: Sequence[str], coded: Mapping[str, Coded] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(the rows' stable order by `keys`, and for each place in that order whether its
    row's key equals the previous row's).

    `coded` may hold columns already encoded (from the same values), to encode once.
    """
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    combined, size = np.zeros(n, dtype=np.int64), 1
    for key in keys:
        column = (coded or {}).get(key) or code(frame[key])
        ranks, count = column.ranks()
        del column
        if size > _INT64_MAX // count:  # too many combinations: the key so far, made dense
            dense, size = code(combined).ranks()
            combined[:] = dense
            del dense
        combined *= count  # in place: a long table holds one int64 per row, not several
        combined += ranks
        size *= count
        del ranks
    order = np.argsort(combined, kind="stable")
    combined = combined[order]  # the keys in order
    repeat = np.zeros(n, dtype=bool)
    np.equal(combined[1:], combined[:-1], out=repeat[1:])
    return order, repeat
