"""`rows_of`: a frame's rows by credit codes, the rows `.loc` gives, whatever the chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.labels import rows_of


def frame_of(codes: list[str], cut: int) -> pd.DataFrame:
    """A frame indexed by `codes`, its index backed by two Arrow chunks (as a snapshot
    read back slice by slice is), with a float, an integer and a text column."""
    chunks = pa.chunked_array([codes[:cut], codes[cut:]], type=pa.large_string())
    index = pd.Index(pd.arrays.ArrowStringArray(chunks), name="uscc")
    return pd.DataFrame(
        {
            "x": np.arange(len(codes), dtype=float),
            "n": np.arange(len(codes)),
            "t": pd.array([f"名{c}" for c in codes], dtype="str"),
        },
        index=index,
    )


@settings(max_examples=100, deadline=None)
@given(
    codes=st.lists(st.text(alphabet="9AZ甲𠀀", min_size=1, max_size=5), max_size=12, unique=True),
    data=st.data(),
)
def test_rows_of_is_loc_for_keys_in_any_order(codes, data):
    frame = frame_of(codes, data.draw(st.integers(0, 12)))
    keys = data.draw(st.permutations(codes))
    keys = keys[: data.draw(st.integers(0, len(keys)))]  # some of them, in any order
    wanted = pd.Index(keys, dtype="str", name="uscc")
    pd.testing.assert_frame_equal(rows_of(frame, wanted), frame.loc[wanted])


def test_the_same_rows_in_the_same_order_are_a_copy_not_the_frame():
    frame = frame_of(["a", "b", "c"], 1)
    got = rows_of(frame, pd.Index(["a", "b", "c"], dtype="str", name="uscc"))
    pd.testing.assert_frame_equal(got, frame)
    assert got is not frame
    got.loc["a", "x"] = 99.0  # copy-on-write: the frame keeps its value
    assert frame.loc["a", "x"] == 0.0


def test_a_code_not_in_the_frame_is_named():
    frame = frame_of(["a", "b"], 1)
    with pytest.raises(KeyError, match=r"1 credit codes not in the frame.*'zz'"):
        rows_of(frame, pd.Index(["b", "zz"], dtype="str"))
