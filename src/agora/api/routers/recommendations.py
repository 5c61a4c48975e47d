"""Recommendations: per-user lists, item-to-item by behaviour, batch (seeds 000 and 003)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import PlatformDep, Reader
from agora.errors import AgoraError, InvalidInput, PayloadTooLarge
from agora.recommend.base import ALGORITHMS
from agora.recommend.service import MAX_N

router = APIRouter(tags=["recommendations"])
MAX_BATCH = 100


@router.get("/recommendations/{user_id}")
async def recommend(
    user_id: str,
    platform: PlatformDep,
    _: Reader,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = 10,
    algorithm: Annotated[str, Query(description=f"one of {', '.join(ALGORITHMS)}")] = "smart",
    category: Annotated[str | None, Query(max_length=128)] = None,
    session_views: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> dict[str, Any]:
    """Top-``n`` assets for a user; the response names the algorithm and model version."""
    if len(user_id) > 128:
        raise InvalidInput("user_id is longer than 128 characters")
    service = platform.recommendations
    # A cache hit is pure memory: answered here, without the worker-thread hop.
    hit = (
        None
        if session_views
        else service.cached(user_id, n, algorithm=algorithm, category=category)
    )
    if hit is not None:
        service.canary_log.served(hit)  # a client sees it: a canary impression
        return hit.to_dict()
    recs = await run_in_threadpool(
        service.recommend,
        user_id,
        n,
        algorithm=algorithm,
        category=category,
        session_views=session_views or (),
    )
    service.canary_log.served(recs)
    return recs.to_dict()


@router.get("/assets/{asset_id}/similar-by-behaviour")
async def similar_by_behaviour(
    asset_id: str, platform: PlatformDep, _: Reader, n: Annotated[int, Query(ge=1, le=MAX_N)] = 10
) -> dict[str, Any]:
    """Assets engaged with by the same users (new assets: content neighbours)."""
    recs = await run_in_threadpool(platform.recommendations.similar_by_behaviour, asset_id, n)
    return {"asset_id": asset_id, **recs.to_dict()}


@router.post("/recommendations:batch")
async def recommend_batch(request: Request, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """``{"requests": [{"user_id", "n", "algorithm", "category"}, ...]}``; per-request results."""
    body = await read_json_object(request)
    reqs = body.get("requests")
    if not isinstance(reqs, list) or not reqs:
        raise InvalidInput("body must be {'requests': [{'user_id': ...}, ...]} with at least one")
    if len(reqs) > MAX_BATCH:
        raise PayloadTooLarge(f"at most {MAX_BATCH} requests per batch")
    return {"results": await run_in_threadpool(_batch, platform, reqs)}


def _batch(platform: Any, reqs: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, r in enumerate(reqs):
        try:
            if not isinstance(r, dict) or not isinstance(r.get("user_id"), str) or not r["user_id"]:
                raise InvalidInput("each request needs a string user_id")
            n = r.get("n", 10)
            if isinstance(n, bool) or not isinstance(n, int):
                raise InvalidInput("n must be an integer")
            category = r.get("category")
            if category is not None and not isinstance(category, str):
                raise InvalidInput("category must be a string")
            recs = platform.recommendations.recommend(
                r["user_id"], n, algorithm=str(r.get("algorithm", "smart")), category=category
            )
            platform.recommendations.canary_log.served(recs)
            out.append({"index": k, "ok": True, **recs.to_dict()})
        except AgoraError as exc:
            out.append({"index": k, "ok": False, "status": exc.status, "error": exc.detail})
    return out
