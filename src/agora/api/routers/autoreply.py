"""Auto-reply (seed 001's Natural Language Service): suggestions, templates, feedback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.schemas.autoreply import (
    AutoReplyRequest,
    AutoReplyResponse,
    FeedbackRequest,
    ListingFactsIn,
    ReplyTemplate,
    ReplyTemplateList,
    StoredReply,
    TemplateCreate,
    TemplateUpdate,
)
from agora.api.schemas.language import ChatIntent
from agora.autoreply.facts import ListingFacts
from agora.autoreply.suggest import Turn
from agora.errors import InvalidInput

# Left out of the OpenAPI document for now: with these operations in it, Swagger UI
# stopped rendering the API page after the first tag (found at the end of the
# session that built them; the cause is still open, see docs/capabilities/language.md).
router = APIRouter(tags=["auto-reply"], include_in_schema=False)


def listing_facts(listing: ListingFactsIn) -> ListingFacts:
    """The request's listing as the facts a reply may state."""
    days = None
    if listing.shipping is not None and listing.shipping.days_min is not None:
        lo = listing.shipping.days_min
        hi = listing.shipping.days_max if listing.shipping.days_max is not None else lo
        if hi < lo:
            raise InvalidInput("listing.shipping.days_max is below days_min")
        days = (lo, hi)
    return ListingFacts(
        title=listing.title,
        price=listing.price,
        currency=listing.currency,
        stock=listing.stock,
        shipping_cost=listing.shipping.cost if listing.shipping else None,
        shipping_days=days,
    )


@router.post("/auto-reply", response_model=AutoReplyResponse)
async def auto_reply(body: AutoReplyRequest, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Up to 3 replies to the buyer's last message, from the operator's templates and
    the seller's past replies, ranked by similarity, the message's intent and
    emotion; filled only with the listing's facts (each traced), and each passed
    by moderation. No buyer message: 422."""
    facts = listing_facts(body.listing)
    turns = [Turn(t.role, t.text) for t in body.conversation]
    service = await run_in_threadpool(lambda: platform.auto_reply)
    return await run_in_threadpool(
        lambda: service.suggest(body.seller_id, turns, facts, language=body.language)
    )


@router.post("/auto-reply/templates", response_model=ReplyTemplate, status_code=201)
def create_template(body: TemplateCreate, platform: PlatformDep, who: Writer) -> dict[str, Any]:
    """A new operator-approved template; an unknown slot: 422."""
    return platform.reply_store.create_template(
        body.language,
        body.intent,
        body.text,
        actor=who.actor,
        emotions=list(body.emotions) if body.emotions is not None else None,
    )


@router.get("/auto-reply/templates", response_model=ReplyTemplateList)
def list_templates(
    platform: PlatformDep,
    _: Reader,
    language: Annotated[str | None, Query(max_length=16)] = None,
    intent: Annotated[ChatIntent | None, Query()] = None,
) -> dict[str, Any]:
    """Templates, optionally of one language and intent."""
    return {"items": platform.reply_store.templates(language=language, intent=intent)}


@router.get("/auto-reply/templates/{template_id}", response_model=ReplyTemplate)
def get_template(template_id: int, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """One template; unknown id: 404."""
    return platform.reply_store.template(template_id)


@router.patch("/auto-reply/templates/{template_id}", response_model=ReplyTemplate)
def update_template(
    template_id: int, body: TemplateUpdate, platform: PlatformDep, _: Writer
) -> dict[str, Any]:
    """Change a template's language, intent, emotions or text; unknown id: 404."""
    return platform.reply_store.update_template(template_id, body.model_dump(exclude_unset=True))


@router.delete("/auto-reply/templates/{template_id}", status_code=204)
def delete_template(template_id: int, platform: PlatformDep, _: Writer) -> Response:
    """Delete a template; unknown id: 404."""
    platform.reply_store.delete_template(template_id)
    return Response(status_code=204)


@router.post("/auto-reply/feedback", response_model=StoredReply, status_code=201)
async def feedback(body: FeedbackRequest, platform: PlatformDep, _: Writer) -> dict[str, Any]:
    """Store a reply the seller sent or accepted (the listing's values become slots),
    so later suggestions for this seller can reuse it."""
    facts = listing_facts(body.listing)
    service = await run_in_threadpool(lambda: platform.auto_reply)
    reading = await run_in_threadpool(service.read, body.buyer_message)
    intent, emotion = reading["intent"], reading["emotion"]
    return await run_in_threadpool(
        lambda: platform.reply_store.record_reply(
            body.seller_id,
            body.buyer_message,
            body.reply,
            action=body.action,
            facts=facts,
            language=reading["language"],
            intent=intent.label if intent else None,
            emotion=emotion.label if emotion else None,
            suggestion_source=body.suggestion_id,
        )
    )
