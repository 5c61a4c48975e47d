"""Per-user consent: read, change (versioned, audited) and history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from agora.api.deps import PlatformDep, Reader, Writer
from agora.api.schemas.consent import Consent, ConsentHistory, ConsentUpdate

router = APIRouter(tags=["consent"])
UserId = Annotated[str, Path(min_length=1, max_length=128)]


@router.put("/users/{user_id}/consent", response_model=Consent)
def put_consent(
    user_id: UserId, body: ConsentUpdate, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Change a user's consent; the version increments and the change is audited."""
    platform.consent.put(user_id, body.model_dump(exclude_none=True), principal.actor)
    return platform.consent.record(user_id).to_dict()


@router.get("/users/{user_id}/consent", response_model=Consent)
def get_consent(user_id: UserId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """The user's consent (privacy-by-default flags at version 0 if never set)."""
    return platform.consent.record(user_id).to_dict()


@router.get("/users/{user_id}/consent/history", response_model=ConsentHistory)
def consent_history(user_id: UserId, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every consent version of the user, oldest first."""
    return {"user_id": user_id, "history": [c.to_dict() for c in platform.consent.history(user_id)]}
