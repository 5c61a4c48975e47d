"""Interaction events: batch ingest with per-event acceptance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json
from agora.api.deps import PlatformDep, Writer
from agora.catalog import EventIngest
from agora.errors import InvalidInput, PayloadTooLarge

router = APIRouter(tags=["events"])


@router.post("/events")
async def post_events(request: Request, platform: PlatformDep, principal: Writer) -> dict[str, Any]:
    """Record ``{"events": [...]}`` (or a bare JSON array). Types: impression, view,
    click, favorite, add_to_cart, purchase, skip. Unknown users are created;
    events naming unknown assets are rejected one by one."""
    body = await read_json(request)
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        raise InvalidInput('send {"events": [...]} or a JSON array of events')
    if not events:
        raise InvalidInput("no events sent")
    limit = platform.settings.uploads.max_events_per_request
    if len(events) > limit:
        raise PayloadTooLarge(f"{len(events)} events sent; at most {limit} per request")
    # The catalog and bus calls block; keep the event loop free for other requests.
    results = await run_in_threadpool(EventIngest(platform).record, events, principal.actor)
    accepted = sum(1 for r in results if r["accepted"])
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
