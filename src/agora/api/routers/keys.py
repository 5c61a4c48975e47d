"""API keys over HTTP (admin scope): create, list, revoke; each write audited
with the calling key. The CLI's ``agora keys`` uses these with ``--url``.

Example:
    >>> r = client.post("/api/v1/keys", json={"scopes": ["read"], "name": "dashboard"})
    ... # doctest: +SKIP
    >>> r.status_code, r.json()["token"].startswith("agora_")  # doctest: +SKIP
    (201, True)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from agora.api.deps import Admin, PlatformDep
from agora.api.schemas.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPage

router = APIRouter(prefix="/keys", tags=["keys"])
KeyId = Annotated[str, Path(min_length=1, max_length=32)]


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_key(body: ApiKeyCreate, platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Create a key. The answer holds its `token`, shown only this once."""
    created = platform.keys.create(
        [s.value for s in body.scopes],
        name=body.name,
        rate_limit_per_minute=body.rate_limit_per_minute,
        quota_per_day=body.quota_per_day,
        actor=principal.actor,
    )
    return {**platform.keys.get(created.key_id), "token": created.token}


@router.get("", response_model=ApiKeyPage)
def list_keys(
    platform: PlatformDep,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
    include_revoked: Annotated[bool, Query(description="false: only keys that still work.")] = True,
) -> dict[str, Any]:
    """Keys oldest first, cursor-paginated; never a token or its hash."""
    items, next_cursor = platform.keys.page(
        limit=limit, cursor=cursor, include_revoked=include_revoked
    )
    return {"items": items, "next_cursor": next_cursor}


@router.delete("/{key_id}", status_code=204, response_class=Response)
def revoke_key(key_id: KeyId, platform: PlatformDep, principal: Admin) -> Response:
    """Revoke a key: it stops working on its next request. Revoking a revoked key
    is a no-op; the last active admin key cannot be revoked (409)."""
    platform.keys.revoke(key_id, actor=principal.actor, keep_an_admin=True)
    return Response(status_code=204)
