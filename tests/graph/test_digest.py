"""The frame digest: a function of the values alone, and moved by any change of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from graph.digest import frame_fingerprint


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uscc": pd.Series(["91110000MA01", "中文名称", None, "", "b"], dtype="str"),
            "amount": [1.0, np.nan, 2.5, 0.0, -3.25],
            "count": pd.array([1, None, 3, 4, 0], dtype="Int64"),
            "on": pd.to_datetime(
                ["2020-01-01", None, "2021-01-01", "2022-02-02", "1999-12-31"]
            ).astype("datetime64[us]"),
            "flag": pd.array([True, None, False, True, False], dtype="boolean"),
        }
    )


def test_the_same_values_give_the_same_digest_however_they_are_held() -> None:
    frame = _frame()
    digest = frame_fingerprint(frame)
    # cut into Arrow chunks by a concatenation
    chunked = pd.concat([frame.iloc[:2], frame.iloc[2:]], ignore_index=True)
    assert chunked["uscc"].array._pa_array.num_chunks == 2  # really chunked
    assert frame_fingerprint(chunked) == digest
    # text as Python objects, and as large_string
    as_objects = frame.assign(uscc=frame["uscc"].astype(object))
    assert frame_fingerprint(as_objects) == digest
    large = pd.Series(
        pd.arrays.ArrowExtensionArray(pa.array(frame["uscc"], type=pa.large_string()))
    )
    assert frame_fingerprint(frame.assign(uscc=large)) == digest
    # a slice's digest is that of its own rows copied out, and the index is not read
    assert frame_fingerprint(frame.iloc[1:4]) == frame_fingerprint(
        frame.iloc[1:4].copy().reset_index(drop=True)
    )
    assert frame_fingerprint(frame.set_axis([7, 8, 9, 10, 11])) == digest


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(uscc=f["uscc"].replace({"b": "c"})),
        lambda f: f.assign(uscc=f["uscc"].replace({"": None})),  # empty is not missing
        lambda f: f.assign(amount=f["amount"].replace({2.5: 2.5000000001})),
        lambda f: f.assign(amount=f["amount"].fillna(0.0)),  # missing is not 0
        lambda f: f.assign(count=f["count"].fillna(0)),
        lambda f: f.assign(on=f["on"] + pd.Timedelta(microseconds=1)),
        lambda f: f.assign(flag=f["flag"].fillna(False)),
        lambda f: f.rename(columns={"amount": "amount2"}),
        lambda f: f[["amount", "uscc", "count", "on", "flag"]],  # column order
        lambda f: f.iloc[[1, 0, 2, 3, 4]],  # row order
        lambda f: f.iloc[:4],
    ],
)
def test_any_change_of_the_values_moves_the_digest(change) -> None:
    frame = _frame()
    assert frame_fingerprint(change(frame)) != frame_fingerprint(frame)


def test_text_bytes_cannot_slide_between_values() -> None:
    one = pd.DataFrame({"x": pd.Series(["ab", "c"], dtype="str")})
    other = pd.DataFrame({"x": pd.Series(["a", "bc"], dtype="str")})
    assert frame_fingerprint(one) != frame_fingerprint(other)


def test_values_arrow_cannot_type_are_still_digested() -> None:
    mixed = pd.DataFrame({"x": pd.Series([1, "a", 2.5], dtype=object)})
    nested = pd.DataFrame({"x": [[1], [2, 3]]})
    assert len(frame_fingerprint(mixed)) == 16
    assert frame_fingerprint(nested) != frame_fingerprint(pd.DataFrame({"x": [[1], [2, 4]]}))


def test_bytes_left_under_a_missing_text_value_are_not_read() -> None:
    # Arrow lets a missing value's slot span bytes; some writers leave them there
    offsets = pa.py_buffer(np.array([0, 1, 4, 5], dtype=np.int32).tobytes())
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    spanning = pa.Array.from_buffers(
        pa.string(), 3, [validity, offsets, pa.py_buffer(b"aXYZb")], null_count=1
    )
    clean = pa.array(["a", None, "b"])
    assert spanning.to_pylist() == clean.to_pylist()

    def framed(array: pa.Array) -> pd.DataFrame:
        return pd.DataFrame({"x": pd.Series(pd.arrays.ArrowExtensionArray(array))})

    assert frame_fingerprint(framed(spanning)) == frame_fingerprint(framed(clean))
