"""The measures of the standard as people read them: their names (Chinese, English) and values."""

from __future__ import annotations

import numpy as np

#: measure → (Chinese, English) name and how its values read
MEASURE_NAMES: dict[str, tuple[str, str]] = {
    "fin_revenue_latest_wan": ("上年度营业收入(万元)", "revenue, latest year (10k yuan)"),
    "fin_rd_2y_wan": ("近两年研发费用(万元)", "R&D over two years (10k yuan)"),
    "fin_rd_expense_latest_wan": ("上年度研发费用(万元)", "R&D, latest year (10k yuan)"),
    "fin_rd_ratio_latest": ("上年度研发费用占比", "R&D share of revenue, latest year"),
    "fin_rd_ratio_2y": ("近两年研发费用占比", "R&D share of revenue, two years"),
    "fin_revenue_growth_1y": ("营业收入增长率(1年)", "revenue growth, 1 year"),
    "fin_revenue_growth_2y": ("营业收入增长率(2年)", "revenue growth, 2 years"),
    "fin_main_business_share": ("主营业务收入占比", "main-business share of revenue"),
    "fin_main_business_growth_2y": (
        "近两年主营业务收入年均增长率",
        "main-business revenue growth a year, two years",
    ),
    "fin_employees": ("职工人数", "employees"),
    "fin_rd_staff_share": ("研发人员占比", "R&D staff share"),
    "ip_class1_self_top3": (
        "自主申请且排名前三的I类知识产权(项)",
        "own class-I IP, top-3 applicant",
    ),
    "ip_class1_in_force": ("有效I类知识产权(项)", "class-I IP in force"),
    "ip_class2_in_force": ("有效II类知识产权(项)", "class-II IP in force"),
    "equity_financing_2y_wan": (
        "近两年合格机构股权融资(万元)",
        "qualified equity financing, 2 years",
    ),
    "profile_niche_years": ("从事细分市场年限", "years in the niche market"),
    "profile_age_years": ("成立年限", "years since establishment"),
    "std_quality_score": ("质量评价得分", "quality-evaluation score"),
}


def measure_name(measure: str) -> tuple[str, str]:
    return MEASURE_NAMES.get(measure, (measure, measure))


#: measures that are shares or growth rates, shown as percentages
RATIO_MEASURES = frozenset(
    {
        "fin_rd_ratio_latest",
        "fin_rd_ratio_2y",
        "fin_revenue_growth_1y",
        "fin_revenue_growth_2y",
        "fin_main_business_share",
        "fin_main_business_growth_2y",
        "fin_rd_staff_share",
    }
)


def fmt_value(value: float, measure: str = "") -> str:
    """A measure's value as people read it: shares and growth as percentages, else plain."""
    if np.isnan(value):
        return "–"
    if measure in RATIO_MEASURES:
        return f"{value:.1%}"
    return f"{value:,.1f}" if value != round(value) else f"{value:,.0f}"
