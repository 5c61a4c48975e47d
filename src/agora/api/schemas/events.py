"""User interaction events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from agora.api.schemas.common import JSONObject, RequestModel, ResponseModel
from agora.domain import InteractionType

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


class EventIn(RequestModel):
    """One interaction. An unknown ``user_id`` creates the user; an unknown
    ``asset_id`` rejects this event only; a repeated ``event_id`` is stored once."""

    user_id: Id
    asset_id: Id
    type: InteractionType
    event_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] | None
    ) = Field(default=None, description="Client id for idempotent retries (generated when absent).")
    ts: datetime | None = Field(
        default=None,
        description="ISO-8601 time or epoch seconds (default: now); at most 1 h ahead.",
    )
    session_id: Annotated[str, StringConstraints(max_length=128, pattern=r"^[^\x00]*$")] | None = (
        None
    )
    value: float | None = Field(default=None, description="e.g. the price of a purchase.")
    context: JSONObject = Field(
        default_factory=dict, description="Where it happened (page, slot...)."
    )


class EventBatch(RequestModel):
    """``POST /api/v1/events`` body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {"user_id": "u-42", "asset_id": "a-1", "type": "view"},
                        {
                            "user_id": "u-42",
                            "asset_id": "a-1",
                            "type": "purchase",
                            "event_id": "order-991",
                            "ts": "2026-12-01T10:15:00Z",
                            "value": 4.99,
                        },
                    ]
                }
            ]
        }
    )
    events: list[EventIn] = Field(min_length=1)


class EventResult(ResponseModel):
    """What happened to one event of the batch, in input order."""

    index: int
    accepted: bool
    event_id: str | None = None
    duplicate: bool | None = Field(default=None, description="Already recorded: stored once.")
    error: str | None = None


class EventBatchResult(ResponseModel):
    """Per-event acceptance."""

    accepted: int
    rejected: int
    results: list[EventResult]
