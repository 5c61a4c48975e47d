"""Feature store: list views, read one entity's features, batch reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.features import EntityFeatures, FeatureReadRequest, FeatureRows, FeatureViews
from agora.errors import PayloadTooLarge
from agora.features.service import MAX_READ_IDS

router = APIRouter(tags=["features"])


@router.get("/features", response_model=FeatureViews)
def list_feature_views(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every registered feature view with its entity, TTL, owner and features."""
    return {"views": platform.features.registry.describe()}


@router.get("/features/{entity}/{entity_id}", response_model=EntityFeatures)
async def read_entity(
    platform: PlatformDep,
    _: Reader,
    entity: Annotated[str, Path(max_length=128, description="`user`, `asset`, `seller`...")],
    entity_id: Annotated[str, Path(max_length=256)],
    features: Annotated[
        str | None, Query(max_length=10_000, description="Comma-separated names (default: all).")
    ] = None,
) -> dict[str, Any]:
    """The online features of one entity id (all of them unless ``features`` names some);
    404 for an unknown entity or feature."""
    names = [f for f in features.split(",") if f] if features else None
    [row] = await run_in_threadpool(platform.features.read_rows, entity, [entity_id], names)
    return {"entity": entity, "id": entity_id, "features": row}


@router.post("/features:read", response_model=FeatureRows)
async def read_batch(body: FeatureReadRequest, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Batch read: the features of many ids of one entity, in the order asked."""
    if len(body.ids) > MAX_READ_IDS:
        raise PayloadTooLarge(f"at most {MAX_READ_IDS} ids per read")
    rows = await run_in_threadpool(
        platform.features.read_rows, body.entity, body.ids, body.features
    )
    return {
        "entity": body.entity,
        "rows": [{"id": i, "features": r} for i, r in zip(body.ids, rows, strict=True)],
    }
