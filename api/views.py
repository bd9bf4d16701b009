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
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from api.schemas import (
    INDUSTRY_PATTERN,
    ConditionPublic,
    RankedCompany,
    ThresholdPublic,
    TierAssessment,
)
from api.service import Service
from discovery.company import CompanyFacts
from discovery.criteria import Threshold
from discovery.ranking import MENTIONS, RankedList
from discovery.scope import Principal
from discovery.vocabulary import REGION_PATTERN, Tier
from graph.contract import TIER_NAMES_ZH

GATE_TEXT = {
    "holds_tier_or_above": "已获该层级或更高认定 already holds this tier or a higher one",
    "not_on_rung_below": "未获前一层级认定 does not hold the tier below",
    "barred": "存在限制性合规事件 barred by a compliance event",
    "large": "大型企业 a large enterprise",
}


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
    )
    return ranked, rows


def filtered(
    frame: pd.DataFrame, *, region: str | None, industry: str | None, min_score: float | None
) -> pd.DataFrame:
    """Rows of a ranked frame within the request's filters."""
    keep = np.ones(len(frame), dtype=bool)
    if region:
        keep &= frame["region_code"].astype(str).str.startswith(region).to_numpy(dtype=bool)
    if industry:
        keep &= frame["industry_code"].astype(str).str.startswith(industry).to_numpy(dtype=bool)
    if min_score is not None:
        keep &= (frame["score"] >= min_score).to_numpy(dtype=bool)
    return frame.loc[keep]


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


def split_reasons(text: object) -> list[str]:
    return [r for r in str(text).split("；") if r] if isinstance(text, str) else []


def checks_of(row: pd.Series, statuses: pd.Series, thresholds: list[Threshold]) -> list[dict]:
    """The threshold checks of one listed row: status as data, with the list's text."""
    return [
        {
            "id": t.id,
            "label_zh": t.label_zh,
            "label_en": t.label_en,
            "status": str(statuses[t.id]),
            "text": str(row[f"check_{t.id}"]),
        }
        for t in thresholds
    ]


def public_rows(ranked: RankedList, rows: pd.DataFrame) -> list[RankedCompany]:
    """The caller's rows as the API answers them (`rows` keeps the list's index)."""
    return [
        RankedCompany(
            rank=int(row["rank"]),
            uscc=str(row["uscc"]),
            name=str(row["name"]),
            region_code=str(row["region_code"]),
            industry_code=str(row["industry_code"]),
            tier=ranked.tier,  # type: ignore[arg-type]
            score=float(row["score"]),
            checks=checks_of(row, ranked.statuses.loc[at], ranked.thresholds),  # type: ignore[arg-type]
            quality_score=None if pd.isna(row["quality_score"]) else float(row["quality_score"]),
            quality_score_source=str(row["quality_score_source"]),
            floor_check=str(row.get("floor_check", "") or ""),
            reasons=split_reasons(row["reasons"]),
        )
        for at, row in rows.iterrows()
    ]


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
        "min_score": filters.min_score,
        "listed": len(rows),
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
        "quality_score": None,
        "quality_score_source": None,
    }
    if row is None:
        return TierAssessment(**base)
    thresholds = list(service.workspace.criteria.thresholds_for(tier))
    checks = checks_of(row, seen["statuses"], thresholds)
    return TierAssessment(
        **{
            **base,
            "gate_reasons": [],
            "invitable": rank is not None or not any(c["status"] == "not_met" for c in checks),
            "score": float(row["score"]),
            "checks": checks,
            "reasons": split_reasons(
                facts.mask_reasons([row["reasons"]], [row.get(MENTIONS, ())], principal)[0]
            ),
            "quality_score": None if pd.isna(row["quality_score"]) else float(row["quality_score"]),
            "quality_score_source": str(row["quality_score_source"]),
        }
    )
