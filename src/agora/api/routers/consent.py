"""Per-user consent: read, change (versioned, audited) and history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StrictBool

from agora.api.deps import PlatformDep, Reader, Writer
from agora.errors import InvalidInput

router = APIRouter(tags=["consent"])


class ConsentUpdate(BaseModel):
    """Flags to change; omitted flags keep their value. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    allows_ai_processing: StrictBool | None = None
    allows_cloud_processing: StrictBool | None = None
    allows_model_training: StrictBool | None = None
    allows_personalization: StrictBool | None = None


@router.put("/users/{user_id}/consent")
def put_consent(
    user_id: str, body: ConsentUpdate, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Change a user's consent; the version increments and the change is audited."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise InvalidInput("give at least one consent flag")
    platform.consent.put(user_id, changes, principal.actor)
    return platform.consent.record(user_id).to_dict()


@router.get("/users/{user_id}/consent")
def get_consent(user_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """The user's consent (privacy-by-default flags at version 0 if never set)."""
    return platform.consent.record(user_id).to_dict()


@router.get("/users/{user_id}/consent/history")
def consent_history(user_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Every consent version of the user, oldest first."""
    return {"user_id": user_id, "history": [c.to_dict() for c in platform.consent.history(user_id)]}
