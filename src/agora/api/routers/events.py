"""Interaction events: batch ingest with per-event acceptance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Writer
from agora.api.schemas.events import EventBatch, EventBatchResult
from agora.errors import PayloadTooLarge

router = APIRouter(tags=["events"])


@router.post("/events", response_model=EventBatchResult)
async def post_events(body: EventBatch, platform: PlatformDep, principal: Writer) -> dict[str, Any]:
    """Record a batch of interactions (impression, view, click, favorite,
    add_to_cart, purchase, skip). A malformed event fails the request (422, with
    the event's index in ``errors``); an event naming an unknown asset is
    rejected alone, and the rest are recorded."""
    limit = platform.settings.uploads.max_events_per_request
    if len(body.events) > limit:
        raise PayloadTooLarge(f"{len(body.events)} events sent; at most {limit} per request")
    events = [e.model_dump(exclude_none=True) for e in body.events]
    # The catalog and bus calls block; keep the event loop free for other requests.
    results = await run_in_threadpool(platform.event_ingest.record, events, principal.actor)
    accepted = sum(1 for r in results if r["accepted"])
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
