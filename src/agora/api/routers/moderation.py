"""Moderation: analyse text and images (seed 001), the review queue, decisions, appeals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from agora.api.deps import Moderator, PlatformDep, Reader, Writer
from agora.api.schemas.language import TextAnalysis, TextBatchRequest, TextBatchResponse
from agora.api.schemas.moderation import (
    AppealRequest,
    DecisionRequest,
    ImageVerdict,
    ItemKind,
    ModerationItem,
    ModerationQueuePage,
    QueueState,
    TextAnalysisRequest,
)
from agora.errors import InvalidInput, PayloadTooLarge
from agora.moderation.queue import QueueFilter

router = APIRouter(tags=["moderation"])
IMAGE_UPLOAD = File(
    description="The image (PNG, JPEG, WebP, GIF...).",
    examples=["listing-photo.jpg (binary)"],
)


@router.post("/analyze-text", response_model=TextAnalysis)
async def analyze_text(
    body: TextAnalysisRequest, platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Labels, per-label scores, matched rules, language and a recommended action
    for one text, plus its sentiment, emotion (class probabilities as
    intensities), chat intent and fine intent (CLINC150, or out of scope), each
    with the ``name@version`` of its model; the text is encoded once for every
    head and moderation. Longer than ``moderation.max_text_chars``: 413."""
    # Off the event loop: the first call may load models from the store.
    text = body.combined()
    service = await run_in_threadpool(lambda: platform.text_understanding)
    (answer,) = await run_in_threadpool(service.analyze, [text])
    return answer


@router.post("/analyze-text:batch", response_model=TextBatchResponse)
async def analyze_texts(body: TextBatchRequest, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """``analyze-text`` for many texts (comments, reviews) in one call: one encoder
    call for all of them. More than ``language.max_batch_texts`` texts: 413."""
    limit = platform.settings.language.max_batch_texts
    if len(body.texts) > limit:
        raise PayloadTooLarge(f"{len(body.texts)} texts; at most {limit} per request")
    service = await run_in_threadpool(lambda: platform.text_understanding)
    return {"results": await run_in_threadpool(service.analyze, body.texts)}


@router.post("/analyze-image", response_model=ImageVerdict)
async def analyze_image(
    platform: PlatformDep,
    _: Reader,
    image: Annotated[UploadFile, IMAGE_UPLOAD],
    item_category: Annotated[
        bool,
        Query(description="Also give the item category (trained tag heads or ImageNet classes)."),
    ] = True,
) -> dict[str, Any]:
    """Safety category (safe, suggestive, explicit), NSFW probability, detections; the
    item category (``item_category``: from the trained tag heads when they serve, else
    the zero-shot ImageNet mapping, ``method`` says which); ``condition_score`` from the
    trained ``image-condition`` model (``condition`` says why there is none); ``objects``
    from the operator's ONNX detector, or that none is configured. Undecodable image: 422."""
    limit = platform.settings.uploads.max_file_bytes
    data = await image.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"image exceeds the {limit}-byte limit")
    if not data:
        raise InvalidInput("empty image")
    # Building the service opens the model store (a slow import): off the loop too.
    service = await run_in_threadpool(lambda: platform.moderation)
    verdict = await run_in_threadpool(service.analyze_image, data, item_category=item_category)
    return verdict.to_dict()


@router.get("/moderation/queue", response_model=ModerationQueuePage)
def queue(
    platform: PlatformDep,
    _: Moderator,
    state: Annotated[
        QueueState,
        Query(description="`pending` is every undecided item (open, escalated, appealed)."),
    ] = "pending",
    kind: Annotated[ItemKind | None, Query()] = None,
    seller_id: Annotated[str | None, Query(max_length=128)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Items highest priority first: risk (plus 1 for a block, 0.5 for an appeal)
    weighted by the asset's reach."""
    flt = QueueFilter(state, kind, seller_id, language, min_risk, limit, offset)
    return platform.moderation_queue.items(flt)


@router.get("/moderation/items/{item_id}", response_model=ModerationItem)
def get_item(item_id: str, platform: PlatformDep, _: Moderator) -> dict[str, Any]:
    """One queue item with its reasons, scores and model versions."""
    return platform.moderation_queue.get(item_id)


@router.post("/moderation/items/{item_id}/decision", response_model=ModerationItem)
async def decide(
    item_id: str, body: DecisionRequest, platform: PlatformDep, principal: Moderator
) -> dict[str, Any]:
    """Approve (the asset goes live), reject (it is banned) or escalate an item.
    Audited with the models that raised it; a decision on an asset whose seller
    allows model training becomes a labelled example. Decided already: 409."""
    return await run_in_threadpool(
        platform.moderation_queue.decide,
        item_id,
        body.decision,
        principal.actor,
        note=body.note,
        labels=list(body.labels) if body.labels is not None else None,
    )


@router.post("/moderation/items/{item_id}/appeal", response_model=ModerationItem)
async def appeal(
    item_id: str, body: AppealRequest, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """The seller's marketplace backend appeals an open or rejected item: it goes
    back to the queue with a higher priority. Another seller: 403; twice: 409."""
    return await run_in_threadpool(
        platform.moderation_queue.appeal, item_id, body.seller_id, body.message, principal.actor
    )
