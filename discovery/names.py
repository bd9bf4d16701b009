"""Names for the codes officials see: regions, industries, size classes and tiers.

Codes stay the keys everywhere; these names are shown beside them. A county
missing from ``data/regions.csv`` is still named by its province (GB/T 2260
first two digits), and an industry class missing from ``data/industries.csv``
by its GB/T 4754-2017 division (two digits after the letter), so data from
any province reads as words, never as a bare code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from graph.contract import TIER_NAMES_ZH

DATA_DIR = Path(__file__).resolve().parent / "data"

SIZE_NAMES = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / name, dtype=str, keep_default_na=False)


@cache
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Places by code (counties, cities and provinces together) and industries by code."""
    regions = _read("regions.csv")
    # a municipality is its own city: 北京市海淀区, not 北京市北京市海淀区
    city = regions["city"].where(regions["city"] != regions["province"], "")
    places = dict(_read("provinces.csv").to_numpy().tolist())
    places.update(zip(regions["region_code"].str[:4], regions["province"] + city, strict=True))
    places.update(
        zip(regions["region_code"], regions["province"] + city + regions["county"], strict=True)
    )
    industries = _read("industries.csv")
    classes = dict(zip(industries["industry_code"], industries["name"], strict=True))
    divisions = dict(_read("industry_divisions.csv").to_numpy().tolist())
    return places, classes, divisions


def region_name(code: object) -> str:
    """Chinese name of a GB/T 2260 code or prefix (county, city or province); a county or
    city outside the tables is named by its city or province; '' if unknown."""
    if not isinstance(code, str) or not code:
        return ""
    places = _tables()[0]
    for length in (len(code), 4, 2):
        if length <= len(code) and code[:length] in places:
            return places[code[:length]]
    return ""


def industry_name(code: object) -> str:
    """Chinese name of a GB/T 4754-2017 class, else of its division; '' if unknown."""
    if not isinstance(code, str) or not code:
        return ""
    _, classes, divisions = _tables()
    if code in classes:
        return classes[code]
    return divisions.get(code[1:3], "")


def size_name(size: object) -> str:
    return SIZE_NAMES.get(size, "") if isinstance(size, str) else ""


def tier_name(tier: object) -> str:
    return TIER_NAMES_ZH.get(tier, "") if isinstance(tier, str) else ""


def _mapped(values: pd.Series, name_of) -> pd.Series:  # type: ignore[no-untyped-def]
    """Name a column by its distinct values only (a list repeats few codes)."""
    codes = values.astype("object")
    distinct = pd.unique(codes.dropna())
    lookup = {c: name_of(c) for c in distinct}
    return codes.map(lookup).fillna("").astype(str)


def region_names(values: pd.Series) -> pd.Series:
    return _mapped(values, region_name)


def industry_names(values: pd.Series) -> pd.Series:
    return _mapped(values, industry_name)


def labelled(name: str, code: object) -> str:
    """'无锡市梁溪区（320214）' style: the name first, the code beside it."""
    code_text = "" if code is None or (isinstance(code, float) and code != code) else str(code)
    if not name:
        return code_text
    return f"{name}（{code_text}）" if code_text else name
