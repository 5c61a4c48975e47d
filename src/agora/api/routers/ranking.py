"""Ranked feed and ranked search (seed 001 section 3): ``/feed/{user_id}``, ``/search/ranked``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.ranking import FeedParams, RankedList, RankedSearchParams

router = APIRouter(tags=["ranking"])


@router.get("/feed/{user_id}", response_model=RankedList)
async def feed(
    user_id: Annotated[str, Path(min_length=1, max_length=128)],
    params: Annotated[FeedParams, Query()],
    platform: PlatformDep,
    _: Reader,
) -> dict[str, Any]:
    """The user's "For You" feed: items with scores, positions, sponsored flags,
    model versions, stage timings and any fallback taken."""
    ranked = await run_in_threadpool(
        platform.ranking.feed,
        user_id,
        n=params.n,
        explain=params.explain,
        max_distance_km=params.max_distance_km,
    )
    return ranked.to_dict()


@router.get("/search/ranked", response_model=RankedList)
async def search_ranked(
    params: Annotated[RankedSearchParams, Query()], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Search results re-ranked by the pipeline (personalised when ``user_id`` is given)."""
    ranked = await run_in_threadpool(
        platform.ranking.search,
        params.q,
        user_id=params.user_id,
        n=params.n,
        explain=params.explain,
        max_distance_km=params.max_distance_km,
    )
    return ranked.to_dict()
