"""Auto-reply: suggestions, operator templates and sellers' feedback."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from agora.api.schemas.common import RequestModel, ResponseModel, UtcDatetime
from agora.api.schemas.language import ChatIntent, Emotion, HeadAnswer

Language = Annotated[str, StringConstraints(min_length=2, max_length=16, pattern=r"^[a-z-]+$")]
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"\S")]
TemplateText = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=r"\S")]
SellerId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ChatTurn(RequestModel):
    """One message of the conversation."""

    role: Literal["buyer", "seller"]
    text: MessageText


class Shipping(RequestModel):
    """What the listing says about shipping."""

    cost: Decimal | None = Field(default=None, ge=0, description="In the listing's currency.")
    days_min: int | None = Field(default=None, ge=0, le=365)
    days_max: int | None = Field(default=None, ge=0, le=365)


class ListingFactsIn(RequestModel):
    """The listing's facts replies may state: only these, each traced."""

    id: str | None = Field(default=None, max_length=128)
    title: str | None = Field(default=None, max_length=300)
    price: Decimal | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, min_length=1, max_length=8)
    stock: int | None = Field(default=None, ge=0)
    shipping: Shipping | None = None


class AutoReplyRequest(RequestModel):
    """``POST /api/v1/auto-reply``: the conversation so far and the listing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seller_id": "s-17",
                    "conversation": [{"role": "buyer", "text": "Is this still available?"}],
                    "listing": {
                        "title": "Pixel tank pack",
                        "price": 12.5,
                        "currency": "USD",
                        "stock": 3,
                    },
                }
            ]
        }
    )
    seller_id: SellerId
    conversation: list[ChatTurn] = Field(min_length=1, max_length=50)
    listing: ListingFactsIn = Field(default_factory=ListingFactsIn)
    language: Language | None = Field(
        default=None, description="The reply language (default: the buyer message's)."
    )


class FactTrace(ResponseModel):
    """One value filled into a reply and the listing field it was read from."""

    slot: str
    value: str
    field: str = Field(description="e.g. `listing.price+listing.currency`.")


class ReplyModeration(ResponseModel):
    """Moderation's verdict on the filled reply (only `approve` is ever offered)."""

    action: Literal["approve"]
    safety: float


class ReplySuggestion(ResponseModel):
    """One reply to offer the seller."""

    text: str
    source: Literal["template", "history"]
    source_id: str = Field(description="`template:<id>` or `history:<id>`.")
    intent: str | None
    score: float
    facts: list[FactTrace]
    moderation: ReplyModeration


class AutoReplyResponse(ResponseModel):
    """Suggestions best first, with what the buyer's message was read as."""

    suggestions: list[ReplySuggestion]
    language: str
    intent: HeadAnswer | None
    emotion: HeadAnswer | None
    candidates: int = Field(description="Templates and past replies considered.")
    skipped: dict[str, int] = Field(
        description="Dropped candidates: `missing_fact`, `untraced_fact`, `moderation`."
    )
    models: list[str]


class TemplateCreate(RequestModel):
    """``POST /api/v1/auto-reply/templates``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "language": "en",
                    "intent": "question",
                    "text": "Yes, it's available: {stock} left at {price}.",
                },
            ]
        }
    )
    language: Language
    intent: ChatIntent
    text: TemplateText = Field(
        description="Slots: {price}, {price_amount}, {currency}, {stock}, {shipping_cost}, "
        "{shipping_days}, {title}."
    )
    emotions: list[Emotion] | None = Field(
        default=None, description="The buyer emotions it suits (null: any)."
    )


class TemplateUpdate(RequestModel):
    """``PATCH /api/v1/auto-reply/templates/{id}``: the fields to change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "In stock: {stock} left, {price} each."}]}
    )
    language: Language | None = None
    intent: ChatIntent | None = None
    text: TemplateText | None = None
    emotions: list[Emotion] | None = None


class ReplyTemplate(ResponseModel):
    """An operator-approved reply template."""

    id: int
    language: str
    intent: str
    emotions: list[str] | None
    text: str
    created_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ReplyTemplateList(ResponseModel):
    """Templates, oldest first."""

    items: list[ReplyTemplate]


class FeedbackRequest(RequestModel):
    """``POST /api/v1/auto-reply/feedback``: a reply the seller sent or accepted."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seller_id": "s1",
                    "buyer_message": "Is the medieval tavern pack still available?",
                    "reply": "Yes, 3 left at 12.00 USD, it ships in 2 days.",
                    "action": "sent",
                    "listing": {"price": 12.0, "currency": "USD", "stock": 3},
                }
            ]
        }
    )
    seller_id: SellerId
    buyer_message: MessageText
    reply: MessageText
    action: Literal["sent", "accepted"]
    listing: ListingFactsIn = Field(
        default_factory=ListingFactsIn,
        description="The listing the reply was about: its values become slots when stored.",
    )
    suggestion_id: str | None = Field(default=None, max_length=64)


class StoredReply(ResponseModel):
    """A stored seller reply (listing values as slots)."""

    id: int
    seller_id: str
    language: str | None
    intent: str | None
    emotion: str | None
    buyer_message: str
    reply: str
    action: str
    suggestion_source: str | None
    created_at: UtcDatetime
