"""Contract validation: every bad value is reported with file, line and column; the rest loads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from graph import uscc
from graph.contract import TABLES, Column, Table
from graph.errors import MissingColumnError, MissingTableError, UnreadableFileError
from graph.validation import MAX_CELL_CHARS, read_directory, sort_by_key
from tests.factories import codes, tiny_tables, write_tables


def edit_csv(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a CSV file, addressed as the rejects report addresses it."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[line - 2, column] = value
    frame.to_csv(path, index=False)


def test_tiny_world_loads_without_rejects(tiny_dir: Path) -> None:
    batch = read_directory(tiny_dir)
    assert batch.rejects.empty
    assert set(batch.tables) == set(TABLES)
    for name, tb in batch.tables.items():
        assert list(tb.frame.columns) == TABLES[name].column_names
        assert len(tb.frame) == tb.rows_read > 0


def test_csv_and_parquet_read_the_same(tmp_path: Path) -> None:
    tables = tiny_tables()
    from_csv = read_directory(write_tables(tables, tmp_path / "csv"))
    from_text_parquet = read_directory(write_tables(tables, tmp_path / "pq", fmt="parquet"))
    # Parquet written with native types (numbers, dates, booleans) reads the same too.
    typed = {name: tb.frame for name, tb in from_csv.tables.items()}
    from_typed_parquet = read_directory(write_tables(typed, tmp_path / "typed", fmt="parquet"))
    for name in TABLES:
        expected = from_csv.tables[name].frame
        pd.testing.assert_frame_equal(from_text_parquet.tables[name].frame, expected)
        pd.testing.assert_frame_equal(from_typed_parquet.tables[name].frame, expected)


def test_codes_keep_leading_zeros(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["investments"].loc[2, "investor_id"] = "000123"
    batch = read_directory(write_tables(tables, tmp_path / "d"))
    assert "000123" in set(batch.tables["investments"].frame["investor_id"])


def test_five_broken_rows_are_listed_exactly(tmp_path: Path) -> None:
    d = write_tables(tiny_tables(), tmp_path / "d")
    good_code = codes(1)[0]
    wrong_check = good_code[:17] + ("0" if good_code[17] != "0" else "1")
    edit_csv(d / "companies.csv", 3, "uscc", wrong_check)  # bad check digit
    edit_csv(d / "companies.csv", 5, "established_on", "2021-02-30")  # impossible date
    edit_csv(d / "patents.csv", 4, "ip_type", "trade_secret")  # unknown enum
    edit_csv(d / "supply_links.csv", 3, "customer_uscc", "91440300MA5F0")  # malformed counterparty
    edit_csv(d / "investments.csv", 2, "amount_wan", "三千万")  # non-numeric money
    batch = read_directory(d)
    got = set(
        zip(batch.rejects["file"], batch.rejects["line"], batch.rejects["column"], strict=True)
    )
    assert got == {
        ("companies.csv", 3, "uscc"),
        ("companies.csv", 5, "established_on"),
        ("patents.csv", 4, "ip_type"),
        ("supply_links.csv", 3, "customer_uscc"),
        ("investments.csv", 2, "amount_wan"),
    }
    reasons = dict(zip(batch.rejects["column"], batch.rejects["reason"], strict=True))
    assert "check digit" in reasons["uscc"]
    assert "not 18" in reasons["customer_uscc"]
    assert "trade_secret" in set(batch.rejects["value"])
    assert len(batch.tables["companies"].frame) == 10
    assert len(batch.tables["patents"].frame) == 6
    assert len(batch.tables["supply_links"].frame) == 5
    assert len(batch.tables["investments"].frame) == 3
    assert wrong_check not in set(batch.tables["companies"].frame["uscc"])


def test_worker_processes_read_exactly_what_one_process_reads(tmp_path: Path) -> None:
    d = write_tables(tiny_tables(), tmp_path / "d")
    edit_csv(d / "patents.csv", 4, "ip_type", "trade_secret")
    edit_csv(d / "investments.csv", 2, "amount_wan", "三千万")
    alone, spread = read_directory(d, workers=1), read_directory(d, workers=2)
    assert list(spread.tables) == list(alone.tables)
    for name, tb in alone.tables.items():
        pd.testing.assert_frame_equal(spread.tables[name].frame, tb.frame)
        assert spread.tables[name].fingerprint == tb.fingerprint is not None
    pd.testing.assert_frame_equal(spread.rejects, alone.rejects)
    assert len(spread.rejects) == 2
    # a contract error raised in a worker arrives as itself, message and all
    frame = pd.read_csv(d / "financials.csv", dtype=str).drop(columns=["reported_on"])
    frame.to_csv(d / "financials.csv", index=False)
    with pytest.raises(MissingColumnError, match=r"financials\.csv.*'reported_on'"):
        read_directory(d, workers=2)


def test_missing_required_column_stops_the_read(tmp_path: Path) -> None:
    d = write_tables(tiny_tables(), tmp_path / "d")
    frame = pd.read_csv(d / "financials.csv", dtype=str).drop(columns=["reported_on"])
    frame.to_csv(d / "financials.csv", index=False)
    with pytest.raises(MissingColumnError, match=r"financials\.csv.*'reported_on'"):
        read_directory(d)


def test_missing_nullable_column_reads_as_unknown(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["companies"] = tables["companies"].drop(columns=["main_product"])
    batch = read_directory(write_tables(tables, tmp_path / "d"))
    assert batch.tables["companies"].frame["main_product"].isna().all()


def test_missing_companies_table_stops_the_read(tmp_path: Path) -> None:
    tables = tiny_tables()
    del tables["companies"]
    with pytest.raises(MissingTableError, match="companies"):
        read_directory(write_tables(tables, tmp_path / "d"))


def test_unreadable_file_stops_the_read(tmp_path: Path) -> None:
    d = write_tables(tiny_tables(), tmp_path / "d")
    (d / "awards.csv").write_bytes(b"award_id,uscc\n\xff\xfe\x00broken")
    with pytest.raises(UnreadableFileError, match=r"awards\.csv.*UTF-8"):
        read_directory(d)
    (d / "awards.csv").unlink()
    (d / "awards.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableFileError, match=r"awards\.parquet"):
        read_directory(d)


def test_chinese_headers_and_bom_are_accepted(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["companies"] = tables["companies"].rename(
        columns={"uscc": "统一社会信用代码", "name": "企业名称", "region_code": "行政区划代码"}
    )
    d = tmp_path / "d"
    d.mkdir()
    tables["companies"].to_csv(d / "companies.csv", index=False, encoding="utf-8-sig")
    batch = read_directory(d)
    assert batch.rejects.empty
    assert batch.tables["companies"].frame["name"].iloc[0].startswith("深圳市")


def test_duplicates_and_date_order_are_rejected(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["awards"] = pd.concat([tables["awards"], tables["awards"].iloc[[0]]], ignore_index=True)
    tables["talents"].loc[0, "left_on"] = "2019-01-01"  # left before joining
    batch = read_directory(write_tables(tables, tmp_path / "d"))
    rejects = batch.rejects.set_index("file")
    assert rejects.loc["awards.csv", "line"] == 4
    assert "line 2" in rejects.loc["awards.csv", "reason"]
    assert rejects.loc["talents.csv", "column"] == "left_on"
    assert len(batch.tables["awards"].frame) == 2


def test_out_of_range_and_fractional_numbers_are_rejected(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["investments"].loc[0, "equity_pct"] = "130"
    tables["financials"].loc[0, "employees"] = "12.5"
    tables["patents"].loc[0, "self_filed"] = "maybe"
    batch = read_directory(write_tables(tables, tmp_path / "d"))
    reasons = dict(zip(batch.rejects["column"], batch.rejects["reason"], strict=True))
    assert "maximum 100" in reasons["equity_pct"]
    assert "whole number" in reasons["employees"]
    assert "true or false" in reasons["self_filed"]


ALPHABET = st.sampled_from(list(uscc.ALPHABET))


@settings(max_examples=200, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=8, max_size=8),
    rest=st.lists(ALPHABET, min_size=10, max_size=10),
    lower=st.booleans(),
)
def test_vectorized_check_agrees_with_stdnum(digits: str, rest: list[str], lower: bool) -> None:
    code = digits + "".join(rest)
    if lower:
        code = code.lower()
    ours = bool(uscc.valid_mask(pd.Series([code], dtype="str"))[0])
    assert ours == (stdnum_uscc.is_valid(code) and code == code.upper())


def test_generated_codes_are_valid() -> None:
    generated = codes(500, region="330106")
    assert all(stdnum_uscc.is_valid(c) for c in generated)
    assert uscc.valid_mask(pd.Series(generated)).all()
    assert np.unique(generated).size == 500


def test_a_nul_or_control_character_in_a_name_is_rejected_with_its_row(tmp_path: Path) -> None:
    directory = write_tables(tiny_tables(), tmp_path)
    edit_csv(directory / "companies.csv", 3, "name", "恶意\x00公司")
    batch = read_directory(directory)
    bad = batch.rejects.loc[batch.rejects["column"] == "name"]
    assert list(bad["line"]) == [3]
    assert "control characters" in bad["reason"].iloc[0]
    assert "\x00" not in str(bad["value"].iloc[0])
    names = batch.tables["companies"].frame["name"].astype(str)
    assert not names.str.contains("\x00").any()


def test_control_characters_and_overlong_codes_in_a_link_key_are_rejected_on_every_row(
    tmp_path: Path,
) -> None:
    """A link table's credit codes are checked on their distinct values (`_text_flags`):
    a bad code repeated on two rows is rejected on both, a missing one only as empty."""
    tables = tiny_tables()
    links = tables["supply_links"]
    assert len(links) >= 4
    bad_code, long_code = "9144\x00030MA5FAKE01", "9" * (MAX_CELL_CHARS + 1)
    links.loc[[0, 2], "supplier_uscc"] = bad_code
    links.loc[1, "customer_uscc"] = long_code
    links.loc[3, "customer_uscc"] = None
    batch = read_directory(write_tables(tables, tmp_path, "parquet"))
    rejects = batch.rejects.loc[batch.rejects["file"] == "supply_links.parquet"]
    by_column = {c: rows for c, rows in rejects.groupby("column")}
    control = by_column["supplier_uscc"]
    assert list(control["line"]) == [2, 4]
    assert control["reason"].str.contains("control characters").all()
    assert not control["value"].astype(str).str.contains("\x00").any()
    customer = by_column["customer_uscc"]
    assert list(customer["line"]) == [3, 5]
    assert "longer than" in customer["reason"].iloc[0]
    assert "required value is empty" in customer["reason"].iloc[1]
    kept = batch.tables["supply_links"].frame
    assert len(kept) == len(links) - 4
    assert not kept["supplier_uscc"].astype(str).str.contains("\x00").any()


@pytest.mark.parametrize("second", ["name", "企业名称"], ids=["same-name", "alias"])
def test_a_header_naming_a_column_twice_stops_the_read(tmp_path: Path, second: str) -> None:
    directory = write_tables(tiny_tables(), tmp_path)
    path = directory / "companies.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += f",{second}"
    lines[1:] = [f"{line},其他名称" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match="'name' twice"):
        read_directory(directory)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["甲", "乙", "a", "B", "b", "é", "𠀀", ""])),
            st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2000, 1, 5))),
            st.integers(0, 3),
        ),
        max_size=40,
    )
)
def test_the_key_order_is_pandas_stable_sort_with_missing_values_last(
    rows: list[tuple[str | None, date | None, int]],
) -> None:
    # text in code-point order (CJK, accents, a character outside the BMP), then dates
    frame = pd.DataFrame(
        {
            "k": pd.Series([r[0] for r in rows], dtype="str"),
            "d": pd.to_datetime(pd.Series([r[1] for r in rows], dtype="object")).astype(
                "datetime64[us]"
            ),
            "row": pd.Series([r[2] for r in rows], dtype="Int64"),
        }
    )
    columns = (Column("k", "str"), Column("d", "date"), Column("row", "int"))
    table = Table("t", columns, ("k", "d"), known_on="d")
    expected = frame.sort_values(["k", "d"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(sort_by_key(table, frame), expected)
