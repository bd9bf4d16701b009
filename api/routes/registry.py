"""The model registry: list the models, train one, promote one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.deps import AuditDep, ModelOperator, ServiceDep, resolve_as_of
from api.schemas import (
    MODEL_ID_PATTERN,
    ErrorPublic,
    ModelPublic,
    ModelsPublic,
    PromotePublic,
    TrainPublic,
    TrainRequest,
)
from discovery.registry import RegisteredModel
from graph.contract import TARGET_TIERS
from graph.errors import UsageError

router = APIRouter(prefix="/models", tags=["models 模型"])


def public(model: RegisteredModel, serving_id: str | None) -> ModelPublic:
    metrics = model.bundle.get("metrics", {})
    return ModelPublic(
        model_id=model.model_id,
        tier=model.tier,  # type: ignore[arg-type]
        serving=model.model_id == serving_id,
        as_of=model.bundle.get("as_of"),
        primary_metric=model.primary_metric,
        primary_metric_name=metrics.get("primary_name"),
        criteria_version=model.bundle.get("criteria_version"),
        data_fingerprint=model.bundle.get("data_fingerprint"),
        metrics=metrics,
    )


@router.get("", response_model=ModelsPublic, operation_id="listModels")
def list_models(service: ServiceDep, principal: ModelOperator) -> ModelsPublic:
    """Every registered model of both tiers, newest last, with the serving one marked (模型列表)."""
    data: list[ModelPublic] = []
    for tier in TARGET_TIERS:
        serving = service.workspace.registry.serving(tier)
        serving_id = serving.model_id if serving else None
        data.extend(public(m, serving_id) for m in service.workspace.registry.list(tier))
    return ModelsPublic(data=data, count=len(data))


@router.post(
    "/train",
    operation_id="trainModel",
    response_model=TrainPublic,
    responses={409: {"model": ErrorPublic, "description": "a training run is in progress"}},
)
def train(
    service: ServiceDep, principal: ModelOperator, audit: AuditDep, body: TrainRequest
) -> TrainPublic:
    """Train, validate and register a model; promote it unless worse (or `force`) (训练模型)."""
    as_of = resolve_as_of(body.as_of, ("body", "as_of"))
    if not service.training.acquire(blocking=False):
        raise HTTPException(status.HTTP_409_CONFLICT, "A training run is in progress; try later.")
    try:  # the workspace adds the outcomes of recorded invitations to the evidence first
        result = service.workspace.train(body.tier, as_of, force=body.force, rounds=body.rounds)
    finally:
        service.training.release()
    audit("train", body.model_dump(), 1)
    serving = service.workspace.registry.serving(body.tier)
    return TrainPublic(
        model=public(result.model, serving.model_id if serving else None),
        promoted=result.promoted,
        message=result.message,
    )


@router.post(
    "/{model_id}/promote",
    operation_id="promoteModel",
    response_model=PromotePublic,
    responses={404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}},
)
def promote(
    service: ServiceDep,
    principal: ModelOperator,
    audit: AuditDep,
    model_id: Annotated[str, Path(pattern=MODEL_ID_PATTERN)],
    force: Annotated[bool, Query(description="promote even if worse than the serving one")] = False,
) -> PromotePublic:
    """Make a registered model the serving one, unless it is worse (or `force`) (启用模型)."""
    try:
        model = service.workspace.registry.find(model_id)
    except UsageError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such model.") from None
    moved = service.workspace.promote(model, force=force)
    audit("promote", {"model_id": model_id, "force": force}, 1)
    return PromotePublic(model=public(model, model.model_id), promoted=moved)
