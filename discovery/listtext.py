"""The words of a list file for people: checks, reasons, headers and the 概况 sheet, in Chinese.

The list's own columns speak both languages (`达标 met`, a reason sentence with its
English in brackets after it); a workbook handed to an official shows the Chinese
alone, one reason per line, and says in words what the list covers.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

import pandas as pd

from discovery.criteria import Threshold
from discovery.measure_names import fmt_value, measure_name
from discovery.names import industry_name, labelled, region_name, tier_name
from discovery.scope import OUTSIDE_LABEL
from graph.contract import TABLES


class ListToWrite(Protocol):
    """What a list file is written from (`discovery.ranking.RankedList`)."""

    tier: str
    as_of: date
    model_id: str
    frame: pd.DataFrame
    thresholds: list[Threshold]
    summary: dict[str, Any]
    model_as_of: date | None
    criteria_version: str


ALL_REGIONS = "全国（全部地区） all regions"
OUTSIDE_ZH, OUTSIDE_EN = OUTSIDE_LABEL.split(" ", 1)[0], "company outside your region"
#: the estimate a check of an unknown quality score carries (`discovery.ranking.check_texts`)
ESTIMATE = re.compile(r"估计 est\. (\d+)")
#: the chance an unknown check carries: of the quality bar, or of a missing figure
CHANCE = re.compile(r"达标把握 chance (\d+%)")
UNIT = re.compile(r"\((万元|项)\)$|\s*\(10k yuan\)$")

GATES = {
    "holds_tier_or_above": ("已获该层级或更高认定", "already holds this tier or a higher one"),
    "not_on_rung_below": ("未获前一层级认定", "does not hold the tier below"),
    "barred": ("存在限制性合规事件", "barred by a compliance event"),
    "large": ("大型企业", "a large enterprise"),
}
COUNTS = {
    "companies": ("企业总数", "companies in the data"),
    "candidates": ("通过资格筛查的候选企业", "candidates past the gates"),
    "known_to_miss_a_threshold": ("已知未达某项门槛（不予邀请）", "known to miss a threshold"),
    "below_empirical_floor": ("低于历次获批下限", "below an empirical floor"),
    "listed": ("列入名单", "listed"),
    "listed_with_visible_miss": ("名单中已知未达门槛", "listed though missing a threshold"),
    "listed_below_empirical_floor": ("名单中低于历次获批下限", "listed below an empirical floor"),
    "listed_scored_at_replaced_bar": (
        "名单中按原标准线评分（标准已下调）",
        "listed, scored at the bar of the standard the file replaced",
    ),
}
#: the row (and the CLI's warning) naming the checked tables that hold no row
NOT_ON_FILE = (
    "未提供的数据（依赖其的门槛显示为未知，资格筛查无法据此排除）",
    "data not on file (thresholds on them read unknown; gates on them exclude no one)",
)
FLOOR_USE = {
    "rank_after": "排在其他企业之后 ranked after the others",
    "exclude": "不列入名单 left off the list",
    "ignore": "不使用 not used",
}
NOTE = (
    "每行一家建议邀请申报的企业，按预计通过概率从高到低排列；各列的含义及其在CSV中的字段名见"
    "“字段说明 columns”工作表。已知未达任何一项认定门槛的企业不列入名单：模型只排序，不放宽标准。",
    "One row per company to invite, the likeliest approval first; the 字段说明 columns sheet "
    "explains every column and gives its CSV key. A company known to miss a threshold is not "
    "listed: the model ranks, it never waives a standard.",
)
#: summary keys shown by their own rows (or not at all: the tier's name is in the tier row)
SHOWN = {
    "tier",
    "tier_zh",
    "as_of",
    "model_id",
    "region",
    "regions",
    "industry",
    "name",
    "min_score",
}


def tables_named(names: Iterable[str]) -> str:
    """Contract tables by their Chinese meaning and their name: `知识产权 patents、…`."""
    return "、".join(f"{TABLES[n].meaning_zh} {n}" for n in names)


def display_width(text: str) -> int:
    """Columns `text` takes in a spreadsheet: two for a wide (Chinese) character, else one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def check_zh(text: object) -> str:
    """A threshold check in Chinese: `达标`, `未达标`, `未知`, `未知（估计47分，达标把握62%）`
    or `未知（达标把握38%）`."""
    if not isinstance(text, str) or not text:
        return ""
    word = text.split(" ", 1)[0]
    estimate, chance = ESTIMATE.search(text), CHANCE.search(text)
    parts = [f"估计{estimate[1]}分"] if estimate else []
    parts += [f"达标把握{chance[1]}"] if chance else []
    return f"{word}（{'，'.join(parts)}）" if parts else word


def split_reasons(text: object) -> list[str]:
    """The list's reasons cell (`；`-separated sentences) as sentences."""
    return [r for r in text.split("；") if r.strip()] if isinstance(text, str) else []


def _english_start(text: str) -> int | None:
    """Where the closing ' (English…)' of a reason opens, balancing parentheses; None if none."""
    if not text.endswith(")"):
        return None
    depth = 0
    for at in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[at], 0)
        if depth == 0:
            return at if at > 0 and text[at - 1] == " " and text[:at].strip() else None
    return None


def reason_parts(sentence: str) -> tuple[str, str]:
    """A reason `中文 (English)` as its Chinese and its English, each naming masked
    companies once ('2家区外企业' / '2 companies outside your region')."""
    text = sentence.strip()
    at = _english_start(text)
    zh, en = (text, "") if at is None else (text[:at].rstrip(), text[at + 1 : -1])
    zh = _collapsed(zh.replace(OUTSIDE_LABEL, OUTSIDE_ZH))
    en = en.replace(OUTSIDE_LABEL, OUTSIDE_EN)
    en = re.sub(
        f"{re.escape(OUTSIDE_EN)}(?:、{re.escape(OUTSIDE_EN)})+",
        lambda m: f"{m[0].count(OUTSIDE_EN)} companies outside your region",
        en,
    )
    return zh, en.replace("、", ", ")


def _collapsed(sentence: str) -> str:
    """Names listed after `：` once each: `A、区外企业、区外企业` reads `A、2家区外企业`."""
    head, colon, names = sentence.partition("：")
    items = names.split("、")
    if not colon or len(set(items)) == len(items):
        return sentence
    counts = Counter(items)
    kept = [n if counts[n] == 1 else f"{counts[n]}家{n}" for n in dict.fromkeys(items)]
    return head + colon + "、".join(kept)


def reasons_zh(text: object) -> str:
    """The list's reasons (`；`-separated, each `中文 (English)`) in Chinese, one per line, once."""
    lines = [reason_parts(r)[0] for r in split_reasons(text)]
    return "\n".join(dict.fromkeys(line for line in lines if line))


def threshold_header(measure: str, label_zh: str) -> str:
    """A threshold check's header, e.g. `上年度营业收入门槛 Threshold: revenue, latest year`."""
    zh, en = measure_name(measure)
    if zh == measure:
        return f"{label_zh} Threshold"
    return f"{UNIT.sub('', zh)}门槛 Threshold: {UNIT.sub('', en)}"


def scope_prefixes(region: str | None, bound: tuple[str, ...] | list[str] | None) -> list[str]:
    """The region prefixes a list covers: the caller's regions narrowed by the filter."""
    if not bound:
        return [region] if region else []
    if not region:
        return list(bound)
    return [
        p if p.startswith(region) else region
        for p in bound
        if p.startswith(region) or region.startswith(p)
    ]


def scope_text(region: str | None, bound: tuple[str, ...] | list[str] | None = None) -> str:
    """The list's region scope in words, names first, codes beside: never empty."""
    prefixes = scope_prefixes(region, bound)
    if prefixes:
        return "、".join(labelled(region_name(p), p) for p in dict.fromkeys(prefixes))
    if region:  # a filter outside the caller's regions
        return f"{labelled(region_name(region), region)}（不在您的地区内，名单为空 outside your regions）"
    return ALL_REGIONS


#: a row of the 概况 sheet: the item in Chinese, in English, and its value
AboutRow = tuple[str, str, Any]


def about_rows(ranked: ListToWrite) -> list[AboutRow]:
    """The 概况 sheet: what the list covers, then its counts, one readable row each."""
    s = ranked.summary
    rows: list[AboutRow] = [
        ("层级", "tier", f"{tier_name(ranked.tier)} {ranked.tier}".strip()),
        ("地区范围", "regions covered", scope_text(s.get("region"), s.get("regions"))),
    ]
    if s.get("industry"):
        industry = labelled(industry_name(s["industry"]), s["industry"])
        rows.append(("行业筛选", "industry filter", industry))
    if s.get("name"):
        rows.append(("企业名称筛选", "name filter", s["name"]))
    if s.get("min_score") is not None:
        rows.append(("最低预计通过概率", "lowest score", f"{float(s['min_score']):.0%}"))
    rows.append(("名单日期", "as of", ranked.as_of))
    rows.append(("模型", "model", ranked.model_id))
    if ranked.model_as_of is not None:
        rows.append(("模型训练数据截至", "model trained as of", ranked.model_as_of))
    if ranked.criteria_version:
        rows.append(("认定标准版本", "criteria version", ranked.criteria_version))
    for key, value in s.items():
        if key in SHOWN:
            continue
        if key == "gated_out" and isinstance(value, dict):
            for gate, count in value.items():
                zh, en = GATES.get(gate, (gate, gate))
                rows.append((f"资格筛查排除：{zh}", f"gated out: {en}", count))
        elif key == "not_on_file":
            if value:
                rows.append((*NOT_ON_FILE, tables_named(value)))
        elif key == "empirical_floors" and isinstance(value, dict):
            use = str(value.get("use", ""))
            rows.append(("历次获批下限的用法", "use of empirical floors", FLOOR_USE.get(use, use)))
            for measure, floor in (value.get("floors") or {}).items():
                zh, en = measure_name(measure)
                rows.append(
                    (f"历次获批下限：{zh}", f"empirical floor: {en}", fmt_value(floor, measure))
                )
        else:
            zh, en = COUNTS.get(key, (key, ""))
            shown = value if isinstance(value, int | float | str | date) else str(value)
            rows.append((zh, en, shown))
    rows.append(("说明", "note", "\n".join(NOTE)))
    return rows
