"""Text membership in Arrow: which values of a column are among some codes.

Shared by the stores (a read of some companies' rows) and the layers above (the
families, the reasons' evidence).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def isin(values: pd.Series, allowed: pd.Series | Iterable[str | None]) -> np.ndarray:
    """`values.isin(allowed)` for text, as a bool array, both sides hashed by Arrow.

    pandas' `isin` on Arrow-backed text turns every allowed value into a Python scalar
    first: about ten seconds for a million credit codes, against a third of a second
    here. A missing value is never in `allowed` (pandas says yes or no by dtype).
    """
    column = _text_array(values)
    value_set = _text_array(allowed)
    if not len(value_set):
        return np.zeros(len(column), dtype=bool)
    found = pc.is_in(column, value_set=value_set.cast(column.type), skip_nulls=True)
    return np.asarray(found.fill_null(False), dtype=bool)


def positions(values: pd.Series, keys: pd.Index | pd.Series) -> np.ndarray:
    """Per value, its position in `keys` (distinct text), -1 where it is not there (a
    missing value never is): `keys.get_indexer(values)`, both sides hashed by Arrow."""
    column = _text_array(values)
    key_set = _text_array(pd.Series(keys, copy=False))
    if not len(key_set):
        return np.full(len(column), -1, dtype=np.int64)
    found = pc.index_in(column, value_set=key_set.cast(column.type), skip_nulls=True)
    return np.asarray(found.fill_null(-1), dtype=np.int64)


def _text_array(values: pd.Series | Iterable[str | None]) -> pa.Array:
    array = pa.array(values if isinstance(values, pd.Series) else list(values), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):  # a categorical: its values, not its codes
        array = array.dictionary_decode()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.large_string())  # e.g. nothing but missing values
    return array
