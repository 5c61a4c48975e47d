"""Ranked feed and ranked search (seed 001 section 3): ``/feed/{user_id}``, ``/search/ranked``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.errors import InvalidInput
from agora.ranking.service import MAX_N, MAX_QUERY_CHARS

router = APIRouter(tags=["ranking"])


@router.get("/feed/{user_id}")
async def feed(
    user_id: str,
    platform: PlatformDep,
    _: Reader,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = 20,
    explain: bool = False,
    max_distance_km: Annotated[float | None, Query(gt=0, le=20_100)] = None,
) -> dict[str, Any]:
    """The user's "For You" feed: items with scores, positions, sponsored flags,
    model versions, stage timings and any fallback taken."""
    if len(user_id) > 128:
        raise InvalidInput("user_id is longer than 128 characters")
    ranked = await run_in_threadpool(
        platform.ranking.feed, user_id, n=n, explain=explain, max_distance_km=max_distance_km
    )
    return ranked.to_dict()


@router.get("/search/ranked")
async def search_ranked(
    platform: PlatformDep,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    user_id: Annotated[str | None, Query(max_length=128)] = None,
    n: Annotated[int, Query(ge=1, le=MAX_N)] = 20,
    explain: bool = False,
    max_distance_km: Annotated[float | None, Query(gt=0, le=20_100)] = None,
) -> dict[str, Any]:
    """Search results re-ranked by the pipeline (personalised when ``user_id`` is given)."""
    ranked = await run_in_threadpool(
        platform.ranking.search,
        q,
        user_id=user_id,
        n=n,
        explain=explain,
        max_distance_km=max_distance_km,
    )
    return ranked.to_dict()
