"""Names shown beside codes: every province and division is named, unknown codes stay blank."""

import pandas as pd
import pytest

from discovery import names


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("440305", "广东省深圳市南山区"),  # a county in the regions table
        ("110101", "北京市"),  # a county outside it: its city or province
        ("110108", "北京市海淀区"),  # a municipality is its own city
        ("3202", "江苏省无锡市"),  # a city prefix
        ("329999", "江苏省"),
        ("65", "新疆维吾尔自治区"),  # a province prefix
        ("99", ""),  # no such province
        ("", ""),
        (None, ""),
    ],
)
def test_region_name(code: object, expected: str) -> None:
    assert names.region_name(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("C3976", "光电子器件制造"),  # a class in the industries table
        ("I6519", "软件和信息技术服务业"),  # a class outside it: its division
        ("Z9999", ""),
        (float("nan"), ""),
    ],
)
def test_industry_name(code: object, expected: str) -> None:
    assert names.industry_name(code) == expected


def test_every_province_and_division_is_named() -> None:
    provinces = pd.read_csv(names.DATA_DIR / "provinces.csv", dtype=str)
    divisions = pd.read_csv(names.DATA_DIR / "industry_divisions.csv", dtype=str)
    assert len(provinces) == 34 and provinces["code"].is_unique
    assert divisions["code"].tolist() == [f"{i:02d}" for i in range(1, 98)]
    regions = pd.read_csv(names.DATA_DIR / "regions.csv", dtype=str)
    assert set(regions["region_code"].str[:2]) <= set(provinces["code"])


def test_columns_are_named_by_value() -> None:
    named = names.region_names(pd.Series(["440305", None, "440305"]))
    assert named.tolist() == ["广东省深圳市南山区", "", "广东省深圳市南山区"]
    assert names.labelled("中型", "medium") == "中型（medium）"
    assert names.labelled("", "C0000") == "C0000"
    assert names.size_name("large") == "大型" and names.size_name(None) == ""
