"""Operator overrides: boosts and bans with expiry."""

from __future__ import annotations

from pydantic import Field

from agora.api.schemas.common import ResponseModel, UtcDatetime
from agora.features.schemas import OverrideAction, OverrideCreate, OverrideTarget

__all__ = ["Override", "OverrideCreate", "OverrideDeleted", "OverrideList"]


class Override(ResponseModel):
    """An override; in force from ``created_at`` until ``expires_at`` (null: until lifted)."""

    id: str
    action: OverrideAction
    target: OverrideTarget
    value: str
    multiplier: float | None = Field(description="Boosts only (null for a ban).")
    reason: str
    created_by: str = Field(description="The actor, e.g. `key:<id>`.")
    created_at: UtcDatetime | None
    expires_at: UtcDatetime | None


class OverrideList(ResponseModel):
    """Overrides, newest first."""

    overrides: list[Override]


class OverrideDeleted(ResponseModel):
    """A lifted override (kept for audit)."""

    deleted: bool
    override: Override
