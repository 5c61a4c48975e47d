"""Users and sellers: upsert and read attributes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.schemas.people import Seller, SellerUpsert, User, UserUpsert
from agora.domain import Scope
from agora.errors import Forbidden

router = APIRouter(tags=["users and sellers"])
PRIVILEGED_SELLER_FIELDS = frozenset({"trust_score", "verified", "banned"})


@router.put("/users/{user_id}", response_model=User)
async def put_user(
    user_id: str, body: UserUpsert, platform: PlatformDep, principal: Writer
) -> dict[str, object]:
    """Create or update a user (region, lat, lon, attributes)."""
    return await run_in_threadpool(platform.people.upsert_user, user_id, body, principal.actor)


@router.get("/users/{user_id}", response_model=User)
def get_user(user_id: str, platform: PlatformDep, _: Reader) -> dict[str, object]:
    """One user."""
    return platform.people.get_user(user_id)


@router.put("/sellers/{seller_id}", response_model=Seller)
async def put_seller(
    seller_id: str, body: SellerUpsert, platform: PlatformDep, principal: Writer
) -> dict[str, object]:
    """Create or update a seller (name, attributes). ``trust_score``, ``verified``
    and ``banned`` are trust decisions: they need the ``moderator`` scope."""
    privileged = sorted(PRIVILEGED_SELLER_FIELDS & body.model_fields_set)
    if privileged and not principal.has(Scope.MODERATOR.value):
        raise Forbidden(f"changing {privileged} needs the 'moderator' scope")
    return await run_in_threadpool(platform.people.upsert_seller, seller_id, body, principal.actor)


@router.get("/sellers/{seller_id}", response_model=Seller)
def get_seller(seller_id: str, platform: PlatformDep, _: Reader) -> dict[str, object]:
    """One seller."""
    return platform.people.get_seller(seller_id)
