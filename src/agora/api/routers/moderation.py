"""Moderation: analyse text and images (seed 001), the review queue, decisions, appeals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from agora.api.bodies import read_json_object
from agora.api.deps import Moderator, PlatformDep, Reader, Writer
from agora.errors import InvalidInput, PayloadTooLarge
from agora.moderation.queue import DECISIONS_ALLOWED, ModerationQueue, QueueFilter
from agora.moderation.service import service_for

router = APIRouter(tags=["moderation"])
MAX_NOTE_CHARS = 2000  # the same cap as an appeal's message


def _text_field(body: dict[str, Any]) -> str:
    text = body.get("text")
    if text is None:
        title, description, tags = body.get("title"), body.get("description"), body.get("tags")
        if not all(p is None or isinstance(p, str) for p in (title, description)):
            raise InvalidInput("title and description must be strings")
        if tags is not None and not (
            isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        ):
            raise InvalidInput("tags must be a list of strings")
        text = "\n".join(p for p in (title, description, " ".join(tags or [])) if p)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("send 'text' (or title/description/tags) as a non-empty string")
    return text


@router.post("/analyze-text")
async def analyze_text(request: Request, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Labels, per-label scores, matched rules, language and a recommended action."""
    body = await read_json_object(request)
    # Off the event loop: the first call may load models from the store.
    verdict = await run_in_threadpool(
        service_for(platform.settings).analyze_text, _text_field(body)
    )
    return verdict.to_dict()


@router.post("/analyze-image")
async def analyze_image(
    platform: PlatformDep,
    _: Reader,
    image: Annotated[UploadFile, File()],
    item_category: Annotated[bool, Query()] = True,
) -> dict[str, Any]:
    """Safety category (safe, suggestive, explicit), NSFW probability, detections, and
    the item category from the image encoder's ImageNet classes (``item_category``:
    label, confidence, the classes it rests on). ``condition`` says plainly that
    condition grading has no trained model yet."""
    limit = platform.settings.uploads.max_file_bytes
    data = await image.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"image exceeds the {limit}-byte limit")
    if not data:
        raise InvalidInput("empty image")
    service = service_for(platform.settings)
    verdict = await run_in_threadpool(service.analyze_image, data, item_category=item_category)
    return verdict.to_dict()


@router.get("/moderation/queue")
def queue(
    platform: PlatformDep,
    _: Moderator,
    state: Annotated[
        str | None, Query(pattern="^(open|escalated|appealed|approved|rejected|pending)$")
    ] = "pending",
    kind: Annotated[str | None, Query(pattern="^(review|block|post_hoc)$")] = None,
    seller_id: str | None = None,
    language: str | None = None,
    min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Items highest priority first (risk and reach); ``state=pending`` is every undecided one."""
    flt = QueueFilter(state, kind, seller_id, language, min_risk, limit, offset)
    return ModerationQueue(platform).items(flt)


@router.get("/moderation/items/{item_id}")
def get_item(item_id: str, platform: PlatformDep, _: Moderator) -> dict[str, Any]:
    """One queue item with its reasons, scores and model versions."""
    return ModerationQueue(platform).get(item_id)


@router.post("/moderation/items/{item_id}/decision")
async def decide(
    item_id: str, request: Request, platform: PlatformDep, principal: Moderator
) -> dict[str, Any]:
    """``{"decision": "approve"|"reject"|"escalate", "note": ..., "labels": ["spam"]}``."""
    body = await read_json_object(request)
    decision = body.get("decision")
    if decision not in DECISIONS_ALLOWED:
        raise InvalidInput(f"decision must be one of {list(DECISIONS_ALLOWED)}")
    note, labels = body.get("note"), body.get("labels")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note must be a string")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise PayloadTooLarge(f"note exceeds {MAX_NOTE_CHARS} characters")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(x, str) for x in labels)
    ):
        raise InvalidInput("labels must be a list of strings")
    return await run_in_threadpool(
        ModerationQueue(platform).decide,
        item_id,
        decision,
        principal.actor,
        note=note,
        labels=labels,
    )


@router.post("/moderation/items/{item_id}/appeal")
async def appeal(
    item_id: str, request: Request, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """The seller's marketplace backend appeals: ``{"seller_id": ..., "message": ...}``."""
    body = await read_json_object(request)
    seller_id, message = body.get("seller_id"), body.get("message")
    if not isinstance(seller_id, str) or not isinstance(message, str):
        raise InvalidInput("seller_id and message must be strings")
    return await run_in_threadpool(
        ModerationQueue(platform).appeal, item_id, seller_id, message, principal.actor
    )
