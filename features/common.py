"""Small vectorized helpers shared by the families."""

from __future__ import annotations

import numpy as np
import pandas as pd


def count_by(ids: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows per id (ids < 0 are ignored), as int64 of length n."""
    keep = ids >= 0
    if mask is not None:
        keep &= mask
    return np.bincount(ids[keep], minlength=n).astype(np.int64)


def distinct_count_by(
    ids: np.ndarray, other: np.ndarray, n: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Distinct values of `other` per id (both integer codes; ids < 0 ignored)."""
    keep = ids >= 0
    if mask is not None:
        keep &= mask
    pairs = pd.DataFrame({"i": ids[keep], "o": other[keep]}).drop_duplicates()
    return np.bincount(pairs["i"].to_numpy(), minlength=n).astype(np.int64)


def last_by(ids: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
    """For each id, the row position with the greatest `order` (ties: the later row); -1 if none.

    A stable lexsort on (order, id) then taking the last row per id, so no group-by apply.
    """
    out = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(ids >= 0)
    if len(rows) == 0:
        return out
    sorter = rows[np.lexsort((order[rows], ids[rows]))]
    sorted_ids = ids[sorter]
    is_last = np.append(sorted_ids[1:] != sorted_ids[:-1], True)
    out[sorted_ids[is_last]] = sorter[is_last]
    return out


def mean_by(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean of the known (non-NaN) `values` per id (ids < 0 ignored); NaN where none is known."""
    vals = np.asarray(values, dtype="float64")
    keep = (ids >= 0) & ~np.isnan(vals)
    total = np.bincount(ids[keep], weights=vals[keep], minlength=n)
    count = np.bincount(ids[keep], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def take(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """values[pos] as float64, NaN where pos is -1."""
    vals = np.asarray(values, dtype="float64")
    out = np.full(len(pos), np.nan)
    ok = pos >= 0
    out[ok] = vals[pos[ok]]
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where the denominator is missing or not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(num, dtype="float64") / np.asarray(den, dtype="float64")
    out[~(np.asarray(den, dtype="float64") > 0)] = np.nan
    return out


def as_float(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="float64", na_value=np.nan)


def codes_of(series: pd.Series) -> np.ndarray:
    """Integer codes of a text column (NA -> -1), for distinct counts."""
    codes, _ = pd.factorize(series)
    return codes.astype(np.int64)


def min_by(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The smallest of the integer `values` per id (ids < 0 ignored), as float64; NaN if none."""
    keep = ids >= 0
    low = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(low, ids[keep], np.asarray(values, dtype=np.int64)[keep])
    out = low.astype("float64")
    out[low == np.iinfo(np.int64).max] = np.nan
    return out
