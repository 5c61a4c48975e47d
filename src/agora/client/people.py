"""Calls for users, sellers and events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agora.api.schemas.events import EventBatch, EventBatchResult, EventIn
from agora.api.schemas.people import Seller, SellerUpsert, User, UserUpsert
from agora.client.call import Call


def put_user(user_id: str, body: UserUpsert | Mapping[str, Any]) -> Call[User]:
    return Call("PUT", f"users/{user_id}", User, json=_dump(UserUpsert, body))


def get_user(user_id: str) -> Call[User]:
    return Call("GET", f"users/{user_id}", User)


def put_seller(seller_id: str, body: SellerUpsert | Mapping[str, Any]) -> Call[Seller]:
    return Call("PUT", f"sellers/{seller_id}", Seller, json=_dump(SellerUpsert, body))


def get_seller(seller_id: str) -> Call[Seller]:
    return Call("GET", f"sellers/{seller_id}", Seller)


def post_events(events: Iterable[EventIn | Mapping[str, Any]]) -> Call[EventBatchResult]:
    batch = EventBatch(events=[EventIn.model_validate(e) for e in events])
    return Call(
        "POST", "events", EventBatchResult, json=batch.model_dump(mode="json", exclude_none=True)
    )


def _dump(model: Any, body: Any) -> dict[str, Any]:
    """Validate a mapping against the request schema client-side (a typo fails
    here, before a round trip); send only the fields that were set."""
    validated = body if isinstance(body, model) else model.model_validate(body)
    dumped: dict[str, Any] = validated.model_dump(mode="json", exclude_unset=True)
    return dumped
