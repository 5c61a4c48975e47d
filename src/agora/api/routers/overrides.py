"""Global overrides (admin): force-boost or ban categories, sellers and assets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import Admin, PlatformDep
from agora.features.overrides import override_view

router = APIRouter(tags=["overrides"])


@router.get("/overrides")
async def list_overrides(
    platform: PlatformDep,
    principal: Admin,
    include_expired: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    """Overrides in force (and expired ones with ``include_expired``), newest first."""
    found = await run_in_threadpool(platform.overrides.find, include_expired=include_expired)
    return {"overrides": [override_view(o) for o in found]}


@router.post("/overrides", status_code=status.HTTP_201_CREATED)
async def create_override(
    request: Request, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """``{"action": "boost"|"ban", "target": "category"|"seller"|"asset", "value": "...",
    "multiplier": 1.5, "reason": "...", "ttl_s": 3600 | "expires_at": "..."}``."""
    body = await read_json_object(request)
    created = await run_in_threadpool(platform.overrides.create, body, principal.actor)
    return override_view(created)


@router.get("/overrides/{override_id}")
async def get_override(platform: PlatformDep, principal: Admin, override_id: str) -> dict[str, Any]:
    return override_view(await run_in_threadpool(platform.overrides.get, override_id))


@router.delete("/overrides/{override_id}")
async def delete_override(
    platform: PlatformDep, principal: Admin, override_id: str
) -> dict[str, Any]:
    """Lift an override now; a lifted asset or seller ban is lifted in the catalog too."""
    lifted = await run_in_threadpool(platform.overrides.delete, override_id, principal.actor)
    return {"deleted": True, "override": override_view(lifted)}
