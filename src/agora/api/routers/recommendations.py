"""Recommendations: per-user lists, item-to-item by behaviour, batch (seeds 000 and 003)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.recommendations import (
    MAX_N,
    BatchResults,
    RecommendationList,
    RecommendBatch,
    RecommendParams,
    SimilarAssets,
)
from agora.errors import AgoraError
from agora.recommend.service import RecommendationService

router = APIRouter(tags=["recommendations"])
UserIdPath = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/recommendations/{user_id}", response_model=RecommendationList)
async def recommend(
    user_id: UserIdPath,
    params: Annotated[RecommendParams, Query()],
    platform: PlatformDep,
    _: Reader,
) -> dict[str, Any]:
    """Top-``n`` assets for a user, filtered against the catalog (active, in stock,
    seller not banned, not purchased); the answer names the algorithm and the model
    version that produced it, and whether trending stood in (``fallback``)."""
    service = platform.recommendations
    # A cache hit is pure memory: answered here, without the worker-thread hop.
    hit = (
        None
        if params.session_views
        else service.cached(user_id, params.n, algorithm=params.algorithm, category=params.category)
    )
    if hit is not None:
        service.canary_log.served(hit)  # a client sees it: a canary impression
        return hit.to_dict()
    recs = await run_in_threadpool(
        service.recommend,
        user_id,
        params.n,
        algorithm=params.algorithm,
        category=params.category,
        session_views=params.session_views or (),
    )
    service.canary_log.served(recs)
    return recs.to_dict()


@router.get("/assets/{asset_id}/similar-by-behaviour", response_model=SimilarAssets)
async def similar_by_behaviour(
    asset_id: str,
    platform: PlatformDep,
    _: Reader,
    n: Annotated[int, Query(ge=1, le=MAX_N, description="How many assets.")] = 10,
) -> dict[str, Any]:
    """Assets engaged with by the same users (item-kNN, else EASE); a new asset gets
    content neighbours, and with neither, trending of its category (``fallback``)."""
    recs = await run_in_threadpool(platform.recommendations.similar_by_behaviour, asset_id, n)
    return {"asset_id": asset_id, **recs.to_dict()}


@router.post("/recommendations:batch", response_model=BatchResults)
async def recommend_batch(body: RecommendBatch, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Up to 100 lists in one call, answered in input order. A malformed request
    fails the call (422, its index in ``errors``); a list that cannot be served
    reports its own ``status`` and ``error`` and the others are still answered."""
    results = await run_in_threadpool(_batch, platform.recommendations, body)
    return {"results": results}


def _batch(service: RecommendationService, body: RecommendBatch) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, r in enumerate(body.requests):
        try:
            recs = service.recommend(r.user_id, r.n, algorithm=r.algorithm, category=r.category)
        except AgoraError as exc:
            out.append({"index": k, "ok": False, "status": exc.status, "error": exc.detail})
            continue
        service.canary_log.served(recs)
        out.append({"index": k, "ok": True, **recs.to_dict()})
    return out
