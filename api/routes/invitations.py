"""The ranked invitation list, and the invitations sent with their outcomes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select

from api.deps import (
    AuditDep,
    InvitationReader,
    Inviter,
    ListReader,
    OutcomeRecorder,
    ServiceDep,
    SessionDep,
    resolve_as_of,
)
from api.schemas import (
    USCC_PATTERN,
    ErrorPublic,
    InvitationCreate,
    InvitationPublic,
    InvitationsPublic,
    OutcomeCreate,
    RankedListPublic,
    ServingModel,
    ServingModelsPublic,
    TableNotOnFile,
)
from api.views import (
    ListFilters,
    ListSort,
    districts,
    filter_region_name,
    full_list,
    masked,
    ordered,
    public_rows,
    scoped_list,
    thresholds_public,
)
from discovery import records
from discovery.records.invitations import refresh_regions
from discovery.scope import NOT_FOUND
from graph.contract import TABLES, TARGET_TIERS, TIER_NAMES_ZH
from graph.errors import DiscoveryError

router = APIRouter(prefix="/invitations", tags=["invitations 邀请"])
NOT_FOUND_ANSWER: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "unknown, or outside your regions"}
}


@router.get("", response_model=RankedListPublic, operation_id="getRankedList")
def ranked_list(
    service: ServiceDep,
    principal: ListReader,
    audit: AuditDep,
    filters: Annotated[ListFilters, Query()],
    limit: Annotated[int, Query(ge=1, le=200, description="page size (at most 200)")] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    sort: Annotated[
        ListSort,
        Query(
            description="order of the rows: rank (default), score, name (by character code), "
            "region or industry (by code); a leading '-' reverses it"
        ),
    ] = "rank",
) -> RankedListPublic:
    """The ranked invitation list for a tier: scores, thresholds and reasons, paged (邀请名单)."""
    as_of = resolve_as_of(filters.as_of)
    limit = min(limit, service.settings.max_page_size)
    ranked, rows = scoped_list(service, principal, filters, as_of)
    page = masked(service, principal, as_of, ordered(rows, sort).iloc[offset : offset + limit])
    audit(
        "list",
        {**filters.model_dump(), "as_of": as_of, "limit": limit, "offset": offset, "sort": sort},
        len(page),
    )
    return RankedListPublic(
        tier=ranked.tier,  # type: ignore[arg-type]
        tier_zh=str(ranked.summary["tier_zh"]),
        as_of=as_of,
        model_id=ranked.model_id,
        model_as_of=ranked.model_as_of,
        count=len(rows),
        limit=limit,
        offset=offset,
        sort=sort,
        region_name=filter_region_name(filters.region),
        districts=districts(rows),
        thresholds=thresholds_public(ranked),
        not_on_file=[
            TableNotOnFile(table=t, table_zh=TABLES[t].meaning_zh)
            for t in ranked.summary.get("not_on_file", [])
        ],
        data=public_rows(ranked, page),
    )


@router.get("/serving", response_model=ServingModelsPublic, operation_id="getServingModels")
def serving_models(service: ServiceDep, principal: ListReader) -> ServingModelsPublic:
    """The model serving each tier and the date of its data: a list's natural date (当前模型)."""
    data = []
    for tier in TARGET_TIERS:
        model = service.workspace.serving(tier)
        day = model.bundle.get("as_of") if model else None
        data.append(
            ServingModel(
                tier=tier,  # type: ignore[arg-type]
                tier_zh=TIER_NAMES_ZH[tier],
                model_id=model.model_id if model else None,
                model_as_of=date.fromisoformat(str(day)[:10]) if day else None,
            )
        )
    return ServingModelsPublic(data=data)


@router.post(
    "",
    operation_id="createInvitations",
    response_model=InvitationsPublic,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND_ANSWER,
)
def invite(
    service: ServiceDep,
    principal: Inviter,
    session: SessionDep,
    audit: AuditDep,
    body: InvitationCreate,
) -> InvitationsPublic:
    """Record that companies were invited to apply for a tier (an open invitation is reused)."""
    invited_on = resolve_as_of(body.invited_on, ("body", "invited_on"))
    facts = service.workspace.company_facts(date.today())
    chosen = []
    for code in dict.fromkeys(body.uscc):
        row = facts.company(code, principal)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        chosen.append((code, str(row["region_code"])))
    scores = _scores(service, body.tier)
    known = set(
        session.scalars(
            select(records.Invitation.invitation_id).where(
                records.Invitation.uscc.in_([c for c, _ in chosen]),
                records.Invitation.tier == body.tier,
            )
        )
    )
    made = records.invite(session, chosen, body.tier, invited_on, principal.key_id, scores)
    audit("invite", {"tier": body.tier, "uscc": [c for c, _ in chosen]}, len(made))
    data = [
        InvitationPublic.model_validate(r).model_copy(
            update={"already_invited": r.invitation_id in known}
        )
        for r in made
    ]
    return InvitationsPublic(data=data, count=len(data))


def _scores(service: ServiceDep, tier: str) -> dict[str, tuple[float, str]]:
    """Today's scores for `tier`, kept with the invitation (none while no model serves)."""
    try:
        ranked = full_list(service, tier, date.today())
    except DiscoveryError:
        return {}
    return {
        str(u): (float(s), ranked.model_id)
        for u, s in zip(ranked.frame["uscc"], ranked.frame["score"], strict=True)
    }


def current_regions(service: ServiceDep, session: SessionDep) -> None:
    """Invitations follow their company: each is moved to the region it is in now.

    Checked once per store version (a load, by this service or by the CLI, is what
    moves companies), not on every request."""
    version = service.workspace.version()
    if service.regions_synced == version:
        return
    with service.regions_lock:
        if service.regions_synced == version:
            return
        companies = service.workspace.company_facts(date.today()).companies
        refresh_regions(session, companies["region_code"])
        service.regions_synced = version


@router.get("/records", response_model=InvitationsPublic, operation_id="listSentInvitations")
def recorded(
    service: ServiceDep,
    principal: InvitationReader,
    session: SessionDep,
    tier: Annotated[str | None, Query(pattern="^(specialized_sme|little_giant)$")] = None,
    uscc: Annotated[str | None, Query(pattern=USCC_PATTERN)] = None,
    outcome: Annotated[
        str | None, Query(pattern="^(pending|declined|applied|approved|rejected)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> InvitationsPublic:
    """Invitations sent, newest first, within your regions (已发邀请)."""
    current_regions(service, session)
    rows, total = records.list_invitations(
        session,
        regions=principal.region_filter,
        tier=tier,
        uscc=uscc,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )
    return InvitationsPublic(data=[InvitationPublic.model_validate(r) for r in rows], count=total)


@router.post(
    "/{invitation_id}/outcome",
    operation_id="recordOutcome",
    response_model=InvitationPublic,
    responses={**NOT_FOUND_ANSWER, 409: {"model": ErrorPublic}},
)
def record_outcome(
    service: ServiceDep,
    principal: OutcomeRecorder,
    session: SessionDep,
    audit: AuditDep,
    invitation_id: Annotated[str, Path(max_length=40)],
    body: OutcomeCreate,
) -> InvitationPublic:
    """Record what came of an invitation: declined, applied, approved or rejected (邀请反馈)."""
    current_regions(service, session)
    row = session.get(records.Invitation, invitation_id)
    if row is None or not principal.sees(row.region_code):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这条邀请记录 No such invitation.")
    outcome_on = resolve_as_of(body.outcome_on, ("body", "outcome_on"))
    records.record_outcome(session, row, body.outcome, outcome_on, principal.key_id)
    audit("outcome", {"invitation_id": invitation_id, "outcome": body.outcome}, 1)
    return InvitationPublic.model_validate(row)
