"""Who the key belongs to: role and regions (the page uses it after sign-in)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPrincipal
from discovery.names import region_name

router = APIRouter(tags=["access 访问"])


class MePublic(BaseModel):
    key_id: str
    role: str
    regions: list[str]
    #: each region prefix's name, in the same order ('' where a code is not in the tables)
    region_names: list[str]


@router.get("/me", response_model=MePublic, operation_id="getMe")
def me(principal: CurrentPrincipal) -> MePublic:
    """The calling key's id, role and region prefixes (当前用户)."""
    regions = list(principal.regions)
    return MePublic(
        key_id=principal.key_id,
        role=principal.role,
        regions=regions,
        region_names=[region_name(r) for r in regions],
    )
