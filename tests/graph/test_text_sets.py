"""The Arrow-hashed membership test answers as a plain set would; missing is never in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.text_sets import isin, positions

#: short texts from a small pool, so that values and allowed sets overlap; CJK, a
#: character outside the BMP and missing values included
TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "b", "甲", "乙公司", "𠀀", "9131"]))
DTYPES = ["str", "object", "category"]


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(TEXT, max_size=30),
    allowed=st.lists(TEXT, max_size=10),
    dtype=st.sampled_from(DTYPES),
    allowed_dtype=st.sampled_from([*DTYPES, "list"]),
)
def test_isin_is_pandas_isin(values, allowed, dtype, allowed_dtype):
    series = pd.Series(values, dtype=dtype)
    allowed_values = allowed if allowed_dtype == "list" else pd.Series(allowed, dtype=allowed_dtype)
    present = {a for a in allowed if a is not None}
    expected = np.array([v is not None and v in present for v in values], dtype=bool)
    got = isin(series, allowed_values)
    assert got.dtype == bool and len(got) == len(values)
    np.testing.assert_array_equal(got, expected)
    if None not in allowed:  # where pandas has no say on missing values, it agrees
        np.testing.assert_array_equal(got, series.isin(list(allowed)).to_numpy(dtype=bool))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(TEXT, max_size=30),
    keys=st.lists(TEXT.filter(lambda k: k is not None), max_size=10, unique=True),
    dtype=st.sampled_from(DTYPES),
)
def test_positions_are_get_indexer(values, keys, dtype):
    series = pd.Series(values, dtype=dtype)
    index = pd.Index(keys, dtype="str")
    expected = np.array([keys.index(v) if v in keys else -1 for v in values], dtype=np.int64)
    got = positions(series, index)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    known = series.notna().to_numpy()  # pandas' answer where no value is missing
    np.testing.assert_array_equal(got[known], index.get_indexer(series[known].astype("str")))
