"""Scores of a large table, computed a block of rows at a time.

A model's inputs are a float copy of the rows it scores (the schema's matrix, then
LightGBM's own contiguous array), so scoring every candidate of a national snapshot
at once holds two such copies of all of them beside the snapshot. Every score here is
row by row (the booster, the quality bar, the calibration, the chance of a missing
figure), so a block at a time gives the same floats, with copies of one block only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

Rows = TypeVar("Rows", pd.DataFrame, pd.Series)

#: rows scored at a time (a block's inputs are about rows x features x 8 bytes, twice)
ROWS = 200_000


def in_row_blocks(
    score: Callable[[Rows], np.ndarray], frame: Rows, rows: int | None = None
) -> np.ndarray:
    """`score(frame)` for a row-by-row `score` (of a table, or of a series of row
    positions), computed `rows` (default `ROWS`) at a time."""
    rows = rows or ROWS
    if len(frame) <= rows:
        return np.asarray(score(frame))
    out: np.ndarray | None = None
    for start in range(0, len(frame), rows):
        part = np.asarray(score(frame.iloc[start : start + rows]))
        if out is None:  # made with the first block's type
            out = np.empty(len(frame), dtype=part.dtype)
        out[start : start + len(part)] = part
    assert out is not None
    return out
