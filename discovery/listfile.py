"""The ranked list as a file: an Excel workbook to forward as it is, or CSV for scripts.

CSV keeps the data contract's machine-readable columns (`rank, uscc, name,
region_code, industry_code, tier, score, ...`) and adds the names beside the codes
(`region_name`, `industry_name`) after them; it starts with a UTF-8 byte-order
mark so that Excel on a Chinese desktop reads it as UTF-8.

The workbook is for people: Chinese headers with English beside, names beside
codes, threshold checks as 达标 / 未达标 / 未知, reasons in Chinese one per line,
scores as percentages, a frozen header row and an autofilter; the 字段说明 sheet
gives each column's key in the CSV and its meaning, the 概况 sheet the list's scope,
date, model, criteria and counts.

Text that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a
carriage return first) is written with a leading `'`, and no Excel cell is a formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from discovery.listtext import (
    ListToWrite,
    about_rows,
    check_zh,
    display_width,
    reasons_zh,
    threshold_header,
)
from discovery.names import industry_names, region_names, size_name, tier_name
from graph.errors import UsageError

LIST_SHEET = "邀请名单 list"
COLUMNS_SHEET = "字段说明 columns"
ABOUT_SHEET = "概况 about"

#: the data contract's columns, then the names beside their codes, then the service's own
CSV_HEAD = [
    "rank",
    "uscc",
    "name",
    "region_code",
    "industry_code",
    "tier",
    "score",
    "region_name",
    "industry_name",
    "size_class",
]
CSV_TAIL = ["quality_score", "quality_score_source", "floor_check", "reasons"]

#: a cell that a spreadsheet would read as a formula (OWASP CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of the workbook: the CSV key it shows, its header and its meaning."""

    key: str
    header: str
    zh: str
    en: str
    #: text, wrap (long text), int, percent or decimal
    style: str = "text"


COLUMNS_BEFORE = [
    Column(
        "rank", "名次 Rank", "在名单中的位次，最优在前", "position in the list, best first", "int"
    ),
    Column("name", "企业名称 Name", "企业登记名称", "registered name"),
    Column("uscc", "统一社会信用代码 USCC", "统一社会信用代码", "Unified Social Credit Code"),
    Column("region_name", "地区 Region", "所在县区名称", "county-level region name"),
    Column(
        "region_code",
        "地区代码 Region code",
        "行政区划代码（GB/T 2260）",
        "region code (GB/T 2260)",
    ),
    Column("industry_name", "行业 Industry", "国民经济行业名称", "industry class name"),
    Column(
        "industry_code",
        "行业代码 Industry code",
        "国民经济行业代码（GB/T 4754-2017）",
        "industry class (GB/T 4754-2017)",
    ),
    Column(
        "size_class",
        "企业规模 Size",
        "微型、小型、中型，未知为无数据",
        "size class: micro, small, medium, or unknown",
    ),
    Column("tier", "拟邀请层级 Tier", "建议邀请申报的层级", "the tier the company is invited to"),
    Column(
        "score",
        "预计通过概率 Score",
        "如现在申报，预计获得认定的概率",
        "estimated probability of approval if the company applied now",
        "percent",
    ),
]
COLUMNS_AFTER = [
    Column(
        "quality_score",
        "质量评价得分 Quality score",
        "公布的专精特新发展质量评价得分；未公布的为本服务的估计",
        "the published quality-evaluation score, or our estimate where unpublished",
        "decimal",
    ),
    Column(
        "quality_score_source",
        "得分来源 Score source",
        "公布：平台公布；估计：本服务估计",
        "published by the platform, or estimated by the service",
    ),
    Column(
        "floor_check",
        "历次获批下限 Empirical floors",
        "空白，或企业低于该层级历次获批企业的指标（据历次认定结果得出）；此类企业排在其他企业之后",
        "empty, or the measures on which the company is below every past approval of the tier; "
        "such companies rank after the others",
        "wrap",
    ),
    Column(
        "reasons",
        "推荐理由 Reasons",
        "模型将企业排在此处的理由及其依据，每行一条",
        "why the model ranks the company here, with the evidence, one per line (Chinese)",
        "wrap",
    ),
]
BASIS_ZH = {"policy": "2026年办法明定", "assumption": "沿用2022年暂行办法的数值"}

NUMBER_FORMATS = {"int": "0", "percent": "0%", "decimal": "0.0"}
MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 8, 40, 60
#: points per line of text (Excel's default row height for 11 pt)
LINE_HEIGHT = 15
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")


def safe(value: object) -> object:
    """`value`, with a leading `'` when it is text a spreadsheet would take for a formula."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell that could start a formula prefixed by `'`."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [safe(v) for v in out[col]]
    return out


def with_names(frame: pd.DataFrame) -> pd.DataFrame:
    """The list's frame with the names of its region and industry codes."""
    out = frame.copy()
    if "region_code" in out.columns:
        out["region_name"] = region_names(out["region_code"]).to_numpy()
    if "industry_code" in out.columns:
        out["industry_name"] = industry_names(out["industry_code"]).to_numpy()
    return out


def csv_frame(ranked: ListToWrite) -> pd.DataFrame:
    """The columns a CSV list holds, in order (internal columns such as mentions never)."""
    frame = with_names(ranked.frame)
    checks = [c for c in frame.columns if c.startswith("check_")]
    return frame[[c for c in [*CSV_HEAD, *checks, *CSV_TAIL] if c in frame.columns]]


def write_list(ranked: ListToWrite, path: Path) -> Path:
    """Write the list as `.csv` (UTF-8 with a byte-order mark) or `.xlsx` (for people)."""
    path = Path(path)
    if path.suffix not in (".csv", ".xlsx"):
        raise UsageError(f"--out must end in .csv or .xlsx, not '{path.suffix or path.name}'.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        # CRLF rows (RFC 4180): a carriage return inside a cell is then quoted too
        neutralised(csv_frame(ranked)).to_csv(
            path, index=False, encoding="utf-8-sig", lineterminator="\r\n"
        )
        return path
    book = Workbook()
    list_sheet = book.active
    assert list_sheet is not None
    list_sheet.title = LIST_SHEET
    columns = xlsx_columns(ranked)
    _write_table(list_sheet, columns, xlsx_cells(ranked.frame, columns), freeze="C2")
    _write_help(book.create_sheet(COLUMNS_SHEET), columns)
    _write_about(book.create_sheet(ABOUT_SHEET), ranked)
    _text_cells_only(book)
    book.save(path)
    return path


def xlsx_columns(ranked: ListToWrite) -> list[Column]:
    """The workbook's columns: identity, the threshold checks, then scores and reasons."""
    keys = set(with_names(ranked.frame).columns)
    checks = [
        Column(
            f"check_{t.id}",
            threshold_header(t.measure, t.label_zh),
            f"{t.label_zh}（{BASIS_ZH.get(t.basis, t.basis)}）：达标、未达标或未知（无数据）",
            f"{t.label_en} ({t.basis}): met, not met or unknown (no data)",
        )
        for t in ranked.thresholds
    ]
    return [c for c in [*COLUMNS_BEFORE, *checks, *COLUMNS_AFTER] if c.key in keys]


def _source_zh(value: object) -> str:
    return value.split(" ", 1)[0] if isinstance(value, str) else ""


def _size_zh(value: object) -> str:
    return size_name(value) or "未知"


#: per column key, how the workbook words a value of the list (checks by `check_zh`)
WORDED: dict[str, Callable[[object], str]] = {
    "size_class": _size_zh,
    "tier": tier_name,
    "quality_score_source": _source_zh,
    "reasons": reasons_zh,
}


def _cell(key: str, value: object) -> object:
    if key.startswith("check_"):
        return check_zh(value)
    if key in WORDED:
        return WORDED[key](value)
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def xlsx_cells(frame: pd.DataFrame, columns: list[Column]) -> list[list[object]]:
    """The workbook's values, one list per column: names, Chinese words, plain numbers."""
    named = with_names(frame)
    return [[safe(_cell(c.key, v)) for v in named[c.key]] for c in columns]


def _lines(value: object, width: float) -> int:
    """How many lines `value` takes in a wrapped cell `width` characters wide."""
    if not isinstance(value, str) or not value:
        return 1
    usable = max(width - 2, 1)
    return sum(max(1, int(np.ceil(display_width(line) / usable))) for line in value.split("\n"))


def _width(header: str, values: list[object], style: str) -> float:
    if style == "wrap":
        return WRAP_WIDTH
    if style == "percent":
        longest = 5
    else:
        longest = max((display_width(str(v)) for v in values if v is not None), default=0)
    # the header wraps between its Chinese and English words
    header_word = max(display_width(w) for w in header.split(" "))
    return float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2, header_word + 2)))


def _write_table(
    sheet: Worksheet, columns: list[Column], cells: list[list[object]], freeze: str
) -> None:
    """Headers, values, formats, widths, wrapped text, row heights, frozen header, autofilter."""
    sheet.append([c.header for c in columns])
    n_rows = len(cells[0]) if cells else 0
    for at in range(n_rows):
        sheet.append([values[at] for values in cells])
    widths = [_width(c.header, v, c.style) for c, v in zip(columns, cells, strict=True)]
    header_lines = 1
    for j, (column, width) in enumerate(zip(columns, widths, strict=True), start=1):
        letter = get_column_letter(j)
        sheet.column_dimensions[letter].width = width
        head = sheet.cell(row=1, column=j)
        head.font = Font(bold=True)
        head.fill = HEADER_FILL
        head.alignment = Alignment(wrap_text=True, vertical="center")
        header_lines = max(header_lines, _lines(column.header, width))
        number = NUMBER_FORMATS.get(column.style)
        wrap = column.style == "wrap"
        for row in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            cell = row[0]
            if number:
                cell.number_format = number
            cell.alignment = Alignment(wrap_text=wrap, vertical="top")
    sheet.row_dimensions[1].height = LINE_HEIGHT * header_lines
    wrapped = [(v, w) for c, v, w in zip(columns, cells, widths, strict=True) if c.style == "wrap"]
    for at in range(n_rows):
        lines = max((_lines(values[at], width) for values, width in wrapped), default=1)
        if lines > 1:
            sheet.row_dimensions[at + 2].height = LINE_HEIGHT * lines
    sheet.freeze_panes = freeze
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{n_rows + 1}"


def _write_help(sheet: Worksheet, columns: list[Column]) -> None:
    """Per column of the list: its header, its key in the CSV, its meaning in both languages."""
    rows = [
        ("列 Column", [c.header for c in columns], "text"),
        ("字段 Key (CSV)", [c.key for c in columns], "text"),
        ("中文说明", [c.zh for c in columns], "wrap"),
        ("Meaning", [c.en for c in columns], "wrap"),
    ]
    help_columns = [Column(k, k, "", "", style) for k, _, style in rows]
    _write_table(sheet, help_columns, [[safe(v) for v in values] for _, values, _ in rows], "B2")


def _write_about(sheet: Worksheet, ranked: ListToWrite) -> None:
    """The list's scope, date, model, criteria and counts, one readable row each."""
    rows = about_rows(ranked)
    sheet.append(["项目", "Item", "值 Value"])
    for row in rows:
        sheet.append([safe(v) for v in row])
    widths = [min(MAX_WIDTH, max(display_width(str(r[j])) for r in rows) + 2) for j in (0, 1)] + [
        WRAP_WIDTH
    ]
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = width
        head = sheet.cell(row=1, column=j)
        head.font = Font(bold=True)
        head.fill = HEADER_FILL
    for at, row in enumerate(rows, start=2):
        for j in range(1, len(widths) + 1):
            cell = sheet.cell(row=at, column=j)
            cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
            if isinstance(row[j - 1], date):
                cell.number_format = "yyyy-mm-dd"
        lines = max(_lines(v, w) for v, w in zip(row, widths, strict=True))
        if lines > 1:
            sheet.row_dimensions[at].height = LINE_HEIGHT * lines
    sheet.freeze_panes = "A2"


def _text_cells_only(book: Workbook) -> None:
    """No cell of the workbook is a formula: what looks like one stays text."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
