"""Global overrides (admin): force-boost or ban categories, sellers and assets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from starlette.concurrency import run_in_threadpool

from agora.api.deps import Admin, PlatformDep
from agora.api.schemas.overrides import Override, OverrideCreate, OverrideDeleted, OverrideList
from agora.features.overrides import override_view

router = APIRouter(tags=["overrides"])
OverrideId = Annotated[str, Path(max_length=64)]


@router.get("/overrides", response_model=OverrideList)
async def list_overrides(
    platform: PlatformDep,
    _: Admin,
    include_expired: Annotated[bool, Query(description="Expired ones too.")] = False,
) -> dict[str, Any]:
    """Overrides in force (and expired ones with ``include_expired``), newest first."""
    found = await run_in_threadpool(platform.overrides.find, include_expired=include_expired)
    return {"overrides": [override_view(o) for o in found]}


@router.post("/overrides", status_code=status.HTTP_201_CREATED, response_model=Override)
async def create_override(
    body: OverrideCreate, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Boost (``multiplier``) or ban a category, seller or asset, until ``ttl_s`` or
    ``expires_at`` (or until lifted). A ban of an asset or seller is written to the
    catalog too; 404 for an unknown asset or seller."""
    created = await run_in_threadpool(platform.overrides.create, body, principal.actor)
    return override_view(created)


@router.get("/overrides/{override_id}", response_model=Override)
async def get_override(platform: PlatformDep, _: Admin, override_id: OverrideId) -> dict[str, Any]:
    """One override (404 once lifted)."""
    return override_view(await run_in_threadpool(platform.overrides.get, override_id))


@router.delete("/overrides/{override_id}", response_model=OverrideDeleted)
async def delete_override(
    platform: PlatformDep, principal: Admin, override_id: OverrideId
) -> dict[str, Any]:
    """Lift an override now; a lifted asset or seller ban is lifted in the catalog too."""
    lifted = await run_in_threadpool(platform.overrides.delete, override_id, principal.actor)
    return {"deleted": True, "override": override_view(lifted)}
