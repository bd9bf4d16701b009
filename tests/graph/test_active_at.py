"""`active_at`: one rule for "still active at as_of", on raw tables and point-in-time reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from graph.contract import TABLES
from graph.store import active_at, known_at
from graph.validation import read_directory

AS_OF = date(2024, 6, 30)
#: every end-like date of the contract: a row is active until it
END_COLUMNS = (
    ("supply_links", "end_on"),
    ("talents", "left_on"),
    ("compliance_events", "end_on"),
    ("certifications", "revoked_on"),
    ("patents", "lapsed_on"),
)


def test_blank_or_after_as_of_is_active_and_on_or_before_has_ended() -> None:
    ends = pd.to_datetime(pd.Series([None, "2024-07-01", "2024-06-30", "2023-01-01"]))
    frame = pd.DataFrame({"end_on": ends})
    assert active_at(frame, "end_on", AS_OF).tolist() == [True, True, False, False]


def test_a_timestamp_as_of_reads_like_a_date() -> None:
    frame = pd.DataFrame({"end_on": pd.to_datetime(pd.Series([None, "2024-07-01"]))})
    expected = active_at(frame, "end_on", AS_OF)
    assert (active_at(frame, "end_on", pd.Timestamp(AS_OF)) == expected).all()


def test_an_empty_frame_has_no_active_rows() -> None:
    frame = pd.DataFrame({"end_on": pd.Series([], dtype="datetime64[ns]")})
    result = active_at(frame, "end_on", AS_OF)
    assert result.dtype == bool and result.shape == (0,)


@pytest.mark.parametrize(("name", "column"), END_COLUMNS)
@pytest.mark.parametrize("as_of", [date(2019, 12, 31), AS_OF, date(2024, 8, 1), date(2026, 1, 1)])
def test_the_raw_table_and_the_point_in_time_read_agree(
    tiny_dir: Path, name: str, column: str, as_of: date
) -> None:
    """The store blanks an end after as_of; the rule gives the same answer either way."""
    table = TABLES[name]
    raw = read_directory(tiny_dir).tables[name].frame
    known = raw.loc[(raw[table.known_on] <= pd.Timestamp(as_of)).to_numpy()]
    read = known_at(table, raw, as_of)
    assert active_at(known, column, as_of).tolist() == active_at(read, column, as_of).tolist()


def test_every_end_column_is_a_later_date_of_its_table() -> None:
    """Ends are blanked after as_of by `known_at`; an end that is not would need the full form."""
    for name, column in END_COLUMNS:
        assert column in TABLES[name].later_dates, (name, column)
