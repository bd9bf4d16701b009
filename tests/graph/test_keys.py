"""Natural keys as one integer per row give pandas' stable sort and its repeated keys."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.keys import code, key_order
from graph.validation import read_directory
from tests.factories import tiny_tables, write_tables

TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "B", "b", "甲", "乙公司", "é", "𠀀", "9131"]))
DAYS = st.one_of(st.none(), st.dates(min_value=date(1999, 12, 30), max_value=date(2000, 1, 3)))
WHOLE = st.one_of(st.none(), st.integers(-2, 2))
REAL = st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 2.25, 1e12]))


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "t": pd.Series([r[0] for r in rows], dtype="str"),
            "d": pd.to_datetime(pd.Series([r[1] for r in rows], dtype="object")).astype(
                "datetime64[us]"
            ),
            "i": pd.Series([r[2] for r in rows], dtype="Int64"),
            "f": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(TEXT, DAYS, WHOLE, REAL), max_size=40),
    keys=st.permutations(["t", "d", "i", "f"]).flatmap(
        lambda p: st.integers(1, 4).map(lambda k: p[:k])
    ),
)
def test_key_order_is_pandas_stable_sort_and_repeats_are_its_duplicates(rows, keys) -> None:
    frame = _frame(rows)
    order, repeat = key_order(frame, keys)
    expected = frame.sort_values(keys, kind="stable", na_position="last").index.to_numpy()
    np.testing.assert_array_equal(order, expected)
    duplicated = frame[keys].duplicated(keep="first").to_numpy()
    np.testing.assert_array_equal(repeat, duplicated[order])


def test_keys_too_many_to_multiply_are_made_dense_first() -> None:
    # four columns of 70,000 distinct values each: 70,001**4 combinations overflow int64
    rng = np.random.default_rng(5)
    n = 280_000
    frame = pd.DataFrame({c: rng.permutation(n) % 70_000 for c in "abcd"})
    frame.iloc[n // 2 :] = frame.iloc[: n // 2].to_numpy()  # every key twice
    order, repeat = key_order(frame, list("abcd"))
    expected = frame.sort_values(list("abcd"), kind="stable").index.to_numpy()
    np.testing.assert_array_equal(order, expected)
    assert repeat.sum() == n // 2
    np.testing.assert_array_equal(repeat, frame.duplicated(keep="first").to_numpy()[order])


def test_code_marks_missing_values_and_keeps_one_dictionary_across_chunks() -> None:
    values = pd.Series(["b", None, "a", "b", ""], dtype="str")
    coded = code(values)
    assert coded.positions[1] == -1
    assert coded.uniques.to_pylist()[coded.positions[0]] == "b"
    assert coded.positions[0] == coded.positions[3]
    ranks, count = coded.ranks()
    assert count == 4 and ranks.tolist() == [2, 3, 1, 2, 0]  # "" < "a" < "b", missing last


def test_duplicate_keys_name_the_first_line_even_when_that_line_is_rejected(
    tmp_path: Path,
) -> None:
    tables = tiny_tables()
    awards = tables["awards"]
    first, second = awards.iloc[[0]].copy(), awards.iloc[[1]].copy()
    bad_first = first.copy()
    bad_first["awarded_on"] = "2020-13-45"  # rejected for its date, but it came first
    tables["awards"] = pd.concat([bad_first, awards, first, second, first], ignore_index=True)
    batch = read_directory(write_tables(tables, tmp_path / "d"))
    rejects = batch.rejects[batch.rejects["file"] == "awards.csv"]
    dups = rejects[rejects["reason"].str.contains("重复记录")]
    n = len(awards)
    # line 2 is the bad first row; the valid copy of it (line 3) repeats it, as do later copies
    assert dups["line"].tolist() == [3, 3 + n, 4 + n, 5 + n]
    assert dups["reason"].str.contains("of line 2 ").tolist() == [True, True, False, True]
    assert "of line 4 " in dups["reason"].iloc[2]
    assert dups["value"].iloc[0] == "|".join(str(awards.iloc[0][k]) for k in ("award_id", "uscc"))
    assert len(batch.tables["awards"].frame) == n - 1
