"""Recommendations: per-user lists, item-to-item by behaviour, batch (seeds 000 and 003)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

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
    return await serve_list(
        platform.recommendations,
        ListRequest(user_id, params.n, params.algorithm, params.category, params.session_views),
    )


class ListRequest(NamedTuple):
    """One list asked for, whichever route asked (``GET``, a batch, ``/ai-pipelines``)."""

    user_id: str
    n: int
    algorithm: str
    category: str | None
    session_views: Sequence[str] | None


async def serve_list(service: RecommendationService, ask: ListRequest) -> dict[str, Any]:
    """The list every recommendation route answers (one implementation)."""
    # A cache hit is pure memory: answered here, without the worker-thread hop.
    hit = (
        None
        if ask.session_views
        else service.cached(ask.user_id, ask.n, algorithm=ask.algorithm, category=ask.category)
    )
    if hit is not None:
        service.canary_log.served(hit)  # a client sees it: a canary impression
        return hit.to_dict()
    recs = await run_in_threadpool(
        service.recommend,
        ask.user_id,
        ask.n,
        algorithm=ask.algorithm,
        category=ask.category,
        session_views=ask.session_views or (),
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
    asks = [ListRequest(r.user_id, r.n, r.algorithm, r.category, None) for r in body.requests]
    return await serve_batch(platform.recommendations, asks)


async def serve_batch(
    service: RecommendationService, asks: Sequence[ListRequest]
) -> dict[str, Any]:
    """The batch every batch route answers: a result per list, in input order."""
    return {"results": await run_in_threadpool(_batch, service, asks)}


def _batch(service: RecommendationService, asks: Sequence[ListRequest]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, r in enumerate(asks):
        try:
            recs = service.recommend(
                r.user_id,
                r.n,
                algorithm=r.algorithm,
                category=r.category,
                session_views=r.session_views or (),
            )
        except AgoraError as exc:
            out.append({"index": k, "ok": False, "status": exc.status, "error": exc.detail})
            continue
        service.canary_log.served(recs)
        out.append({"index": k, "ok": True, **recs.to_dict()})
    return out
