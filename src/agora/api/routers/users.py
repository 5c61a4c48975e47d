"""Users and sellers: upsert and read attributes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agora.api.bodies import read_json_object
from agora.api.deps import PlatformDep, Reader, Writer
from agora.catalog import PeopleService

router = APIRouter(tags=["users and sellers"])


@router.put("/users/{user_id}")
async def put_user(user_id: str, request: Request, platform: PlatformDep,
                   principal: Writer) -> dict[str, Any]:
    """Create or update a user (region, lat, lon, attributes)."""
    body = await read_json_object(request)
    return PeopleService(platform).upsert_user(user_id, body, principal.actor)


@router.get("/users/{user_id}")
def get_user(user_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One user."""
    return PeopleService(platform).get_user(user_id)


@router.put("/sellers/{seller_id}")
async def put_seller(seller_id: str, request: Request, platform: PlatformDep,
                     principal: Writer) -> dict[str, Any]:
    """Create or update a seller (name, trust_score, verified, banned, attributes)."""
    body = await read_json_object(request)
    return PeopleService(platform).upsert_seller(seller_id, body, principal.actor)


@router.get("/sellers/{seller_id}")
def get_seller(seller_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One seller."""
    return PeopleService(platform).get_seller(seller_id)
