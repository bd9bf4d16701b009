"""Downloads: named by tier and date, the workbook states the caller's real scope, CSV has a BOM."""

from __future__ import annotations

import io
from urllib.parse import unquote

import openpyxl
import pandas as pd

from discovery.listfile import ABOUT_SHEET, LIST_SHEET
from discovery.listtext import ALL_REGIONS
from discovery.names import labelled, region_name
from discovery.ranking import BASE_COLUMNS
from tests.api.conftest import AS_OF, Served

LIST = {"tier": "specialized_sme", "as_of": AS_OF.isoformat()}


def workbook(s: Served, role: str, **params: str) -> tuple[openpyxl.Workbook, str]:
    answer = s.client.get(
        "/v1/exports/invitations.xlsx", params={**LIST, **params}, headers=s.headers(role)
    )
    assert answer.status_code == 200, answer.text
    return openpyxl.load_workbook(io.BytesIO(answer.content)), answer.headers["content-disposition"]


def scope(book: openpyxl.Workbook) -> str:
    rows = {r[0]: r[2] for r in book[ABOUT_SHEET].iter_rows(min_row=2, values_only=True)}
    return str(rows["地区范围"])


def test_the_workbook_states_the_callers_real_scope(served: Served) -> None:
    s = served
    mine, named = workbook(s, "official")
    assert scope(mine) == labelled(region_name(s.city), s.city)
    assert "None" not in scope(mine) and s.city in scope(mine)
    sheet = mine[LIST_SHEET]
    head = [c.value for c in sheet[1]]
    assert head[:3] == ["名次 Rank", "企业名称 Name", "统一社会信用代码 USCC"]
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref.startswith("A1:")
    codes = [
        r[head.index("地区代码 Region code")] for r in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert codes and all(str(c).startswith(s.city) for c in codes)
    # a county filter narrows the scope the file states
    county = codes[0]
    narrowed, _ = workbook(s, "official", region=county)
    assert scope(narrowed) == labelled(region_name(county), county)
    # a caller bound to no region, without a filter, sees the whole country
    everything, _ = workbook(s, "analyst")
    assert scope(everything) == ALL_REGIONS
    # the download is named by tier and date, in ASCII and (RFC 5987) in Chinese
    day = AS_OF.isoformat()
    assert f'filename="invitations-specialized_sme-{day}.xlsx"' in named
    encoded = named.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == f"邀请名单-专精特新中小企业-{day}.xlsx"


def test_the_csv_download_has_a_bom_the_contract_columns_and_a_dated_name(served: Served) -> None:
    s = served
    answer = s.client.get(
        "/v1/exports/invitations.csv",
        params={**LIST, "tier": "little_giant"},
        headers=s.headers("official"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(answer.content), encoding="utf-8-sig", dtype=str)
    assert list(frame.columns[:9]) == [*BASE_COLUMNS, "region_name", "industry_name"]
    named = answer.headers["content-disposition"]
    assert f'filename="invitations-little_giant-{AS_OF.isoformat()}.csv"' in named
    # the tier's Chinese name loses its quotes: no file system objects to them
    assert unquote(named.split("filename*=UTF-8''", 1)[1]) == (
        f"邀请名单-专精特新小巨人-{AS_OF.isoformat()}.csv"
    )
