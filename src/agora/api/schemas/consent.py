"""Per-user consent: the four flags, versioned, with history."""

from __future__ import annotations

from typing import Self

from pydantic import ConfigDict, Field, StrictBool, model_validator

from agora.api.schemas.common import RequestModel, ResponseModel, UtcDatetime

__all__ = ["Consent", "ConsentChange", "ConsentHistory", "ConsentUpdate"]


class ConsentUpdate(RequestModel):
    """Flags to change; omitted flags keep their value. Strict booleans: the
    string ``"false"`` is refused, never read as true."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"allows_model_training": True, "allows_cloud_processing": False}]
        }
    )

    allows_ai_processing: StrictBool | None = Field(
        default=None, description="The platform's own models may tag, search and rank for them."
    )
    allows_cloud_processing: StrictBool | None = Field(
        default=None, description="Their data may be sent to a cloud model."
    )
    allows_model_training: StrictBool | None = Field(
        default=None, description="Their events may train models."
    )
    allows_personalization: StrictBool | None = Field(
        default=None, description="Their own history shapes their own feed."
    )

    @model_validator(mode="after")
    def _one_flag(self) -> Self:
        if not any(v is not None for v in self.model_dump().values()):
            raise ValueError("give at least one consent flag")
        return self


class _Flags(ResponseModel):
    allows_ai_processing: bool
    allows_cloud_processing: bool
    allows_model_training: bool
    allows_personalization: bool
    version: int = Field(description="Grows by one on every change; 0: never set (defaults).")


class Consent(_Flags):
    """A user's current consent (privacy-by-default flags at version 0 if never set)."""

    user_id: str
    updated_at: UtcDatetime | None = None
    updated_by: str | None = None


class ConsentChange(_Flags):
    """One version of a user's consent."""

    changed_by: str | None = None
    changed_at: UtcDatetime


class ConsentHistory(ResponseModel):
    """Every consent version of a user, oldest first."""

    user_id: str
    history: list[ConsentChange]
