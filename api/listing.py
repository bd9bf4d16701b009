"""The ranked list as a caller may see it: scoped to their regions, filtered, names masked."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from api.lists import checks_of, filtered, split_reasons
from api.models import (
    INDUSTRY_PATTERN,
    REGION_PATTERN,
    ConditionPublic,
    RankedCompany,
    ThresholdPublic,
    Tier,
)
from api.scope import Principal, mask_names
from api.service import Service
from discovery.ranking import RankedList


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


def scoped_list(
    service: Service, principal: Principal, filters: ListFilters, as_of: date
) -> tuple[RankedList, pd.DataFrame]:
    """The full ranked list and the caller's filtered rows of it (reasons not yet masked)."""
    ranked = service.lists.ranked(filters.tier, as_of)
    rows = filtered(
        regional(ranked.frame, principal),
        regions=None,
        region=filters.region,
        industry=filters.industry,
        min_score=filters.min_score,
    )
    return ranked, rows


def regional(frame: pd.DataFrame, principal: Principal) -> pd.DataFrame:
    """The rows the caller may see; an official's ranks count only companies of their regions."""
    if not principal.is_official:
        return frame
    out = frame.loc[principal.sees_all(frame["region_code"])].copy()
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def masked(service: Service, principal: Principal, as_of: date, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with names of companies outside the caller's regions blanked out of the reasons."""
    if not principal.is_official or rows.empty:
        return rows
    hidden = service.lists.facts(as_of).hidden_names(rows["uscc"], principal)
    if not hidden:
        return rows
    rows = rows.copy()
    rows["reasons"] = [
        mask_names(str(text), hidden.get(code, ()))
        for code, text in zip(rows["uscc"], rows["reasons"], strict=True)
    ]
    return rows


def public_rows(ranked: RankedList, rows: pd.DataFrame) -> list[RankedCompany]:
    return [
        RankedCompany(
            rank=int(row["rank"]),
            uscc=str(row["uscc"]),
            name=str(row["name"]),
            region_code=str(row["region_code"]),
            industry_code=str(row["industry_code"]),
            tier=ranked.tier,  # type: ignore[arg-type]
            score=float(row["score"]),
            checks=checks_of(row, ranked.thresholds),  # type: ignore[arg-type]
            quality_score=None if pd.isna(row["quality_score"]) else float(row["quality_score"]),
            quality_score_source=str(row["quality_score_source"]),
            floor_check=str(row.get("floor_check", "") or ""),
            reasons=split_reasons(row["reasons"]),
        )
        for _, row in rows.iterrows()
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
    return replace(ranked, frame=rows.reset_index(drop=True), summary=summary)
