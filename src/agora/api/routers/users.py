"""Users and sellers: upsert and read attributes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import PlatformDep, Reader, Writer, authenticate
from agora.catalog import PeopleService
from agora.domain import Scope
from agora.errors import Forbidden
from agora.security.keys import Principal

router = APIRouter(tags=["users and sellers"])
PRIVILEGED_SELLER_FIELDS = frozenset({"trust_score", "verified", "banned"})


@router.put("/users/{user_id}")
async def put_user(
    user_id: str, request: Request, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Create or update a user (region, lat, lon, attributes)."""
    body = await read_json_object(request)
    return await run_in_threadpool(
        PeopleService(platform).upsert_user, user_id, body, principal.actor
    )


@router.get("/users/{user_id}")
def get_user(user_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One user."""
    return PeopleService(platform).get_user(user_id)


@router.put("/sellers/{seller_id}")
async def put_seller(
    seller_id: str,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """Create or update a seller (name, attributes; ``trust_score``, ``verified``
    and ``banned`` are trust decisions and need the moderator scope)."""
    body = await read_json_object(request)
    privileged = sorted(PRIVILEGED_SELLER_FIELDS & body.keys())
    if privileged and not principal.has(Scope.MODERATOR.value):
        raise Forbidden(f"changing {privileged} needs the 'moderator' scope")
    if set(body) - PRIVILEGED_SELLER_FIELDS and not principal.has(Scope.WRITE.value):
        raise Forbidden("a moderator key may change only trust_score, verified and banned")
    if not body and not principal.has(Scope.WRITE.value):
        raise Forbidden("creating a seller needs the 'write' scope")
    return await run_in_threadpool(
        PeopleService(platform).upsert_seller, seller_id, body, principal.actor
    )


@router.get("/sellers/{seller_id}")
def get_seller(seller_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One seller."""
    return PeopleService(platform).get_seller(seller_id)
