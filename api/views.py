"""What a caller sees of a ranked list or a company: scoped to their regions, filtered, masked.

The lists themselves come from the workspace (`Workspace.ranked`, cached per tier,
date, serving model and data); this module only turns them into the answer of one
caller: their regions' rows, re-ranked among themselves, every company outside
their regions masked out of the reasons by identity (the codes the reasons name,
`discovery.ranking.MENTIONS`), statuses read from the list's data (never from its display text).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from api.schemas import (
    INDUSTRY_PATTERN,
    ConditionPublic,
    DistrictCount,
    RankedCompany,
    ReasonLine,
    ThresholdPublic,
    TierAssessment,
)
from api.service import Service
from discovery.company import CompanyFacts
from discovery.criteria import Threshold
from discovery.listtext import GATES, reason_parts, split_reasons
from discovery.names import industry_names, region_name, region_names, size_name
from discovery.ranking import MENTIONS, RankedList
from discovery.scope import Principal
from discovery.vocabulary import REGION_PATTERN, Tier
from graph.contract import TIER_NAMES_ZH

NAME_MAX = 40
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
GATE_TEXT = {key: f"{zh} {en}" for key, (zh, en) in GATES.items()}


class ListFilters(BaseModel):
    """The filters of a ranked list (query parameters)."""

    tier: Tier = Field("specialized_sme", description="the tier to invite for")
    region: str | None = Field(
        None, pattern=REGION_PATTERN, description="region-code prefix: 2, 4 or 6 digits"
    )
    industry: str | None = Field(
        None, pattern=INDUSTRY_PATTERN, description="industry-code prefix, e.g. C or C39"
    )
    min_score: float | None = Field(None, ge=0, le=1, description="lowest score shown")
    as_of: date | None = Field(None, description="decision date (default today)")
    name: str | None = Field(
        None,
        min_length=1,
        max_length=NAME_MAX,
        pattern=NAME_PATTERN,
        description="企业名称或信用代码 part of the company's name (any case), or the start of "
        f"its credit code; at most {NAME_MAX} characters",
    )


#: how a list may be ordered: a column, descending with a leading '-'
ListSort = Literal[
    "rank",
    "-rank",
    "score",
    "-score",
    "name",
    "-name",
    "region",
    "-region",
    "industry",
    "-industry",
]
SORT_COLUMNS = {
    "rank": "rank",
    "score": "score",
    "name": "name",
    "region": "region_code",
    "industry": "industry_code",
}
#: a short name per threshold measure, for badges ("营收 达标"); the full label is beside it
SHORT_NAMES = {
    "std_quality_score": ("评价得分", "quality score"),
    "profile_niche_years": ("细分年限", "years in niche"),
    "fin_rd_expense_latest_wan": ("研发费用", "R&D expense"),
    "fin_rd_ratio_latest": ("研发占比", "R&D share"),
    "fin_revenue_latest_wan": ("营收", "revenue"),
    "fin_rd_2y_wan": ("两年研发", "R&D, 2 years"),
    "ip_class1_self_top3": ("I类知识产权", "class-I IP"),
    "fin_main_business_share": ("主营占比", "main-business share"),
    "fin_main_business_growth_2y": ("主营增长", "main-business growth"),
    "fin_rd_ratio_2y": ("研发占比", "R&D share"),
}


def full_list(service: Service, tier: str, as_of: date) -> RankedList:
    """The service's cached list of `tier` (raises `UsageError` when no model serves it)."""
    return service.workspace.ranked(tier, as_of, service.settings.list_size)


def scoped_list(
    service: Service, principal: Principal, filters: ListFilters, as_of: date
) -> tuple[RankedList, pd.DataFrame]:
    """The full ranked list and the caller's filtered rows of it (reasons not yet masked)."""
    ranked = full_list(service, filters.tier, as_of)
    rows = filtered(
        regional(ranked.frame, principal),
        region=filters.region,
        industry=filters.industry,
        min_score=filters.min_score,
        name=filters.name,
    )
    return ranked, rows


def filtered(
    frame: pd.DataFrame,
    *,
    region: str | None,
    industry: str | None,
    min_score: float | None,
    name: str | None = None,
) -> pd.DataFrame:
    """Rows of a ranked frame within the request's filters.

    `name` matches part of the company's name (any case) or the start of its credit code.
    """
    keep = np.ones(len(frame), dtype=bool)
    if region:
        keep &= frame["region_code"].astype(str).str.startswith(region).to_numpy(dtype=bool)
    if industry:
        keep &= frame["industry_code"].astype(str).str.startswith(industry).to_numpy(dtype=bool)
    if min_score is not None:
        keep &= (frame["score"] >= min_score).to_numpy(dtype=bool)
    wanted = (name or "").strip()
    if wanted:
        names = frame["name"].astype(str).str.contains(wanted, case=False, regex=False)
        codes = frame["uscc"].astype(str).str.startswith(wanted.upper())
        keep &= (names | codes).to_numpy(dtype=bool)
    return frame.loc[keep]


def ordered(rows: pd.DataFrame, sort: str) -> pd.DataFrame:
    """`rows` in the order `sort` names (a column, '-' first for descending), ties by rank."""
    column = SORT_COLUMNS[sort.lstrip("-")]
    if column == "rank":
        return rows.sort_values("rank", ascending=not sort.startswith("-"), kind="stable")
    by = rows.sort_values("rank", kind="stable")
    return by.sort_values(column, ascending=not sort.startswith("-"), kind="stable")


def filter_region_name(prefix: str | None) -> str:
    """The name of a region filter (a province, city or county prefix); '' for none."""
    return region_name(prefix) if prefix else ""


def districts(rows: pd.DataFrame) -> list[DistrictCount]:
    """How many of `rows` lie in each county, most first (then by code)."""
    counts = rows["region_code"].astype(str).value_counts()
    frame = pd.DataFrame({"code": counts.index, "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "code"], ascending=[False, True], kind="stable")
    return [
        DistrictCount(region_code=c, region_name=region_name(c), count=int(n))
        for c, n in zip(frame["code"], frame["n"], strict=True)
    ]


def regional(frame: pd.DataFrame, principal: Principal) -> pd.DataFrame:
    """The rows the caller may see; an official's ranks count only companies of their regions."""
    if not principal.is_official:
        return frame
    out = frame.loc[principal.sees_all(frame["region_code"])].copy()
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def masked(service: Service, principal: Principal, as_of: date, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with every company outside the caller's regions masked out of the reasons."""
    if not principal.is_official or rows.empty:
        return rows
    facts = service.workspace.company_facts(as_of)
    rows = rows.copy()
    rows["reasons"] = facts.mask_reasons(rows["reasons"], _mentions(rows), principal)
    return rows


def _mentions(rows: pd.DataFrame) -> list[object]:
    return list(rows[MENTIONS]) if MENTIONS in rows.columns else [()] * len(rows)


def reason_line(text: str) -> ReasonLine:
    """A reason as its Chinese sentence and the English beside it (`listtext.reason_parts`)."""
    zh, en = reason_parts(text)
    return ReasonLine(zh=zh, en=en)


def checks_of(row: pd.Series, statuses: pd.Series, thresholds: list[Threshold]) -> list[dict]:
    """The threshold checks of one listed row: status as data, with the list's text."""
    return [
        {
            "id": t.id,
            "label_zh": t.label_zh,
            "label_en": t.label_en,
            "short_zh": SHORT_NAMES.get(t.measure, (t.label_zh[:6], ""))[0],
            "short_en": SHORT_NAMES.get(t.measure, ("", t.label_en))[1],
            "status": str(statuses[t.id]),
            "text": str(row[f"check_{t.id}"]),
        }
        for t in thresholds
    ]


def public_rows(ranked: RankedList, rows: pd.DataFrame) -> list[RankedCompany]:
    """The caller's rows as the API answers them (`rows` keeps the list's index)."""
    regions = region_names(rows["region_code"]).to_numpy()
    industries = industry_names(rows["industry_code"]).to_numpy()
    out = []
    for i, (at, row) in enumerate(rows.iterrows()):
        reasons = split_reasons(row["reasons"])
        size = row["size_class"] if isinstance(row["size_class"], str) else None
        out.append(
            RankedCompany(
                rank=int(row["rank"]),
                uscc=str(row["uscc"]),
                name=str(row["name"]),
                region_code=str(row["region_code"]),
                region_name=str(regions[i]),
                industry_code=str(row["industry_code"]),
                industry_name=str(industries[i]),
                size_class=size,
                size_name=size_name(size),
                tier=ranked.tier,  # type: ignore[arg-type]
                score=float(row["score"]),
                checks=checks_of(row, ranked.statuses.loc[at], ranked.thresholds),  # type: ignore[arg-type]
                quality_score=None
                if pd.isna(row["quality_score"])
                else float(row["quality_score"]),
                quality_score_source=str(row["quality_score_source"]),
                floor_check=str(row.get("floor_check", "") or ""),
                reasons=reasons,
                reason_lines=[reason_line(r) for r in reasons],
            )
        )
    return out


def thresholds_public(ranked: RankedList) -> list[ThresholdPublic]:
    return [
        ThresholdPublic(
            id=t.id,
            label_zh=t.label_zh,
            label_en=t.label_en,
            measure=t.measure,
            op=t.op,
            value=t.value,
            unit=t.unit,
            basis=t.basis,
            alternatives=[
                [ConditionPublic(measure=c.measure, op=c.op, value=c.value) for c in path]
                for path in t.alternatives
            ],
        )
        for t in ranked.thresholds
    ]


def export_list(ranked: RankedList, rows: pd.DataFrame, filters: ListFilters) -> RankedList:
    """A copy of the list holding only `rows`, with a summary that counts nothing else."""
    summary = {
        "tier": ranked.tier,
        "tier_zh": ranked.summary.get("tier_zh"),
        "as_of": ranked.as_of.isoformat(),
        "model_id": ranked.model_id,
        "region": filters.region,
        "industry": filters.industry,
        **({"name": filters.name} if filters.name else {}),
        "min_score": filters.min_score,
        "listed": len(rows),
        "not_on_file": ranked.summary.get("not_on_file", []),
    }
    return replace(
        ranked,
        frame=rows.reset_index(drop=True),
        statuses=ranked.statuses.loc[rows.index].reset_index(drop=True),
        summary=summary,
    )


def assessment(
    service: Service, principal: Principal, tier: str, as_of: date, uscc: str, facts: CompanyFacts
) -> TierAssessment:
    """One company for one tier as the caller may see it (ranks among their regions)."""
    seen = service.workspace.assess(tier, as_of, uscc, service.settings.list_size)
    flags: dict[str, bool] = seen["gate"]
    row: pd.Series | None = seen["row"]
    rank = seen["rank"]
    if rank is not None and principal.is_official:
        mine = regional(full_list(service, tier, as_of).frame, principal)
        rank = int(mine.loc[mine["uscc"] == uscc, "rank"].iloc[0])
    base: dict[str, Any] = {
        "tier": tier,
        "tier_zh": TIER_NAMES_ZH[tier],
        "model_id": seen["model_id"],
        "eligible": seen["eligible"],
        "gate": flags,
        "gate_reasons": [GATE_TEXT[k] for k, v in flags.items() if v],
        "rank": rank,
        "invitable": False,
        "score": None,
        "checks": [],
        "reasons": [],
        "reason_lines": [],
        "quality_score": None,
        "quality_score_source": None,
    }
    if row is None:
        return TierAssessment(**base)
    thresholds = list(service.workspace.criteria.thresholds_for(tier))
    checks = checks_of(row, seen["statuses"], thresholds)
    reasons = split_reasons(
        facts.mask_reasons([row["reasons"]], [row.get(MENTIONS, ())], principal)[0]
    )
    return TierAssessment(
        **{
            **base,
            "gate_reasons": [],
            "invitable": rank is not None or not any(c["status"] == "not_met" for c in checks),
            "score": float(row["score"]),
            "checks": checks,
            "reasons": reasons,
            "reason_lines": [reason_line(r) for r in reasons],
            "quality_score": None if pd.isna(row["quality_score"]) else float(row["quality_score"]),
            "quality_score_source": str(row["quality_score_source"]),
        }
    )


# -- a company's page -----------------------------------------------------------------------
PATENT_COLUMNS = [
    *("ip_id", "ip_type", "applicant_rank", "filed_on", "granted_on", "self_filed", "lapsed_on"),
]
MAX_PATENTS = 50


def patent_items(facts: CompanyFacts, uscc: str) -> list[dict[str, Any]]:
    """The company's own IP rights at the facts' date, newest filing first (at most 50)."""
    patents = facts.read("patents")
    mine = patents.loc[patents["uscc"] == uscc].sort_values("filed_on", ascending=False)
    out = []
    for row in mine.head(MAX_PATENTS)[PATENT_COLUMNS].itertuples(index=False):
        item = dict(zip(PATENT_COLUMNS, row, strict=True))
        out.append({k: (None if _missing(v) else _plain(v)) for k, v in item.items()})
    return out


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if isinstance(value, np.generic) else value


def with_tiers(graph: dict[str, Any], highest: pd.Series) -> dict[str, Any]:
    """The graph's nodes with the highest tier each named company holds (hidden ones: null)."""
    for node in graph["nodes"]:
        code = node.get("uscc")
        node["tier"] = str(highest.get(code, "none")) if code else None
    return graph
