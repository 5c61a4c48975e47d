"""Feature store: list views, read one entity's features, batch reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import PlatformDep, Reader
from agora.errors import InvalidInput, PayloadTooLarge
from agora.features.service import MAX_READ_IDS

router = APIRouter(tags=["features"])


def _names(raw: Any, what: str) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise InvalidInput(f"{what} must be a list of non-empty strings")
    return raw


@router.get("/features")
def list_feature_views(platform: PlatformDep, principal: Reader) -> dict[str, Any]:
    """Every registered feature view with its entity, TTL, owner and features."""
    return {"views": platform.features.registry.describe()}


@router.get("/features/{entity}/{entity_id}")
async def read_entity(
    platform: PlatformDep,
    principal: Reader,
    entity: str,
    entity_id: str,
    features: Annotated[str | None, Query(description="comma-separated names")] = None,
) -> dict[str, Any]:
    """The online features of one entity id (all of them unless ``features`` names some)."""
    names = [f for f in features.split(",") if f] if features else None
    [row] = await run_in_threadpool(platform.features.read_rows, entity, [entity_id], names)
    return {"entity": entity, "id": entity_id, "features": row}


@router.post("/features:read")
async def read_batch(request: Request, platform: PlatformDep, principal: Reader) -> dict[str, Any]:
    """Batch read: ``{"entity": "asset", "ids": [...], "features": [...]}``."""
    body = await read_json_object(request)
    entity = body.get("entity")
    if not isinstance(entity, str) or not entity:
        raise InvalidInput("entity must be a non-empty string")
    ids = _names(body.get("ids"), "ids")
    if ids is None:
        raise InvalidInput("ids is required")
    if len(ids) > MAX_READ_IDS:
        raise PayloadTooLarge(f"at most {MAX_READ_IDS} ids per read")
    names = _names(body.get("features"), "features")
    rows = await run_in_threadpool(platform.features.read_rows, entity, ids, names)
    return {
        "entity": entity,
        "rows": [{"id": i, "features": r} for i, r in zip(ids, rows, strict=True)],
    }
