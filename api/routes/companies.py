"""A company's page: profile, assessment per tier, evidence, and its neighbourhood for drawing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from api.deps import AsOfQuery, AuditDep, CompanyReader, ServiceDep, SessionDep, resolve_as_of
from api.schemas import (
    USCC_PATTERN,
    CompanyProfile,
    CompanyPublic,
    ErrorPublic,
    EvidencePublic,
    GraphPublic,
    InvitationPublic,
)
from api.views import assessment, patent_items, with_tiers
from discovery import records
from discovery.names import industry_name, region_name, size_name
from discovery.scope import NOT_FOUND
from graph.contract import TARGET_TIERS

router = APIRouter(prefix="/companies", tags=["companies 企业"])
UsccPath = Annotated[
    str, Path(pattern=USCC_PATTERN, description="统一社会信用代码 (18 characters)")
]
NOT_FOUND_ANSWER: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "unknown, or outside your regions"}
}


@router.get(
    "/{uscc}", response_model=CompanyPublic, responses=NOT_FOUND_ANSWER, operation_id="getCompany"
)
def company(
    service: ServiceDep,
    principal: CompanyReader,
    session: SessionDep,
    audit: AuditDep,
    uscc: UsccPath,
    as_of: AsOfQuery = None,
) -> CompanyPublic:
    """Profile, score and thresholds per tier, reasons and the evidence behind them (企业画像)."""
    day = resolve_as_of(as_of)
    facts = service.workspace.company_facts(day)
    row = facts.company(uscc, principal)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    tiers = [assessment(service, principal, t, day, uscc, facts) for t in TARGET_TIERS]
    sent, _ = records.list_invitations(session, uscc=uscc, limit=50)
    audit("company", {"uscc": uscc, "as_of": day}, 1)
    evidence = facts.evidence(uscc, principal)
    evidence["patent_items"] = patent_items(facts, uscc)
    return CompanyPublic(
        as_of=day,
        profile=CompanyProfile(uscc=uscc, **_profile(row)),
        tiers=tiers,
        evidence=EvidencePublic.model_validate(evidence),
        invitations=[InvitationPublic.model_validate(r) for r in sent],
    )


def _profile(row) -> dict:  # type: ignore[no-untyped-def]
    def get(col: str) -> object:
        value = row.get(col)
        return None if value is None or value != value else value  # NaN / NaT read as None

    day = get("established_on")
    niche = get("niche_since")
    return {
        "name": str(row["name"]),
        "region_code": str(row["region_code"]),
        "region_name": region_name(str(row["region_code"])),
        "industry_code": str(row["industry_code"]),
        "industry_name": industry_name(str(row["industry_code"])),
        "established_on": day.date() if day is not None else None,  # type: ignore[attr-defined]
        "size_class": get("size_class"),
        "size_name": size_name(get("size_class")),
        "niche_since": niche.date() if niche is not None else None,  # type: ignore[attr-defined]
        "main_product": get("main_product"),
    }


@router.get(
    "/{uscc}/graph",
    response_model=GraphPublic,
    responses=NOT_FOUND_ANSWER,
    operation_id="getCompanyGraph",
)
def company_graph(
    service: ServiceDep,
    principal: CompanyReader,
    audit: AuditDep,
    uscc: UsccPath,
    as_of: AsOfQuery = None,
) -> GraphPublic:
    """The company's neighbourhood (customers, suppliers, investors) as nodes and edges (关系图)."""
    day = resolve_as_of(as_of)
    facts = service.workspace.company_facts(day)
    if facts.company(uscc, principal) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    graph = facts.graph(uscc, principal, service.settings.max_graph_nodes)
    graph = with_tiers(graph, service.workspace.holdings(day)["highest"])
    audit("graph", {"uscc": uscc, "as_of": day}, len(graph["nodes"]))
    return GraphPublic.model_validate(graph)
