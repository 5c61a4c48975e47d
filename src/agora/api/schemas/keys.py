"""API keys: create (the token is shown once), list (never a secret), revoke."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from agora.api.schemas.common import RequestModel, ResponseModel, UtcDatetime
from agora.domain import Scope

__all__ = ["ApiKey", "ApiKeyCreate", "ApiKeyCreated", "ApiKeyPage"]


class ApiKeyCreate(RequestModel):
    """A new key: its scopes, a label, and optional limits."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scopes": ["read", "write"],
                    "name": "shop-backend",
                    "rate_limit_per_minute": 600,
                    "quota_per_day": 100000,
                }
            ]
        }
    )

    scopes: list[Scope] = Field(
        min_length=1,
        max_length=4,
        description="Scopes to grant (admin > moderator > write > read; a higher one "
        "implies the lower ones).",
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=128, description="A label to recognise it by."
    )
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Requests per minute; null: the platform's default.",
    )
    quota_per_day: int | None = Field(
        default=None, ge=1, le=1_000_000_000, description="Requests per day; null: unlimited."
    )


class ApiKey(ResponseModel):
    """A key as listed: its id, label, scopes and limits, never its secret."""

    id: str = Field(description="The `<id>` part of `agora_<id>_<secret>`.")
    name: str | None = None
    scopes: list[Scope]
    rate_limit_per_minute: int | None = Field(default=None, description="null: the default.")
    quota_per_day: int | None = Field(default=None, description="null: unlimited.")
    revoked: bool
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None = None


class ApiKeyCreated(ApiKey):
    """A new key with its token, shown only this once (only its hash is stored)."""

    token: str = Field(description="Send as `Authorization: Bearer <token>`.")


class ApiKeyPage(ResponseModel):
    """A page of keys, oldest first."""

    items: list[ApiKey]
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; null on the last page."
    )
