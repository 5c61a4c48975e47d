"""Validated input of the feature store's admin API (kept free of the database layer,
so the API schemas and the Python SDK can import it)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OverrideAction(StrEnum):
    BOOST = "boost"
    BAN = "ban"


class OverrideTarget(StrEnum):
    CATEGORY = "category"
    SELLER = "seller"
    ASSET = "asset"


class OverrideCreate(BaseModel):
    """Body of ``POST /api/v1/overrides``: boost or ban a category, seller or asset,
    for ``ttl_s`` seconds, until ``expires_at``, or until lifted."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "action": "boost",
                    "target": "category",
                    "value": "3d-models",
                    "multiplier": 1.5,
                    "reason": "spring campaign",
                    "ttl_s": 604800,
                },
                {"action": "ban", "target": "seller", "value": "s-17", "reason": "chargebacks"},
            ]
        },
    )
    action: OverrideAction
    target: OverrideTarget
    value: str = Field(min_length=1, max_length=256, description="The category, seller or asset.")
    multiplier: float = Field(
        default=1.5, gt=0.0, le=100.0, description="Boosts only: the ranking score is multiplied."
    )
    reason: str = Field(default="", max_length=2000)
    ttl_s: float | None = Field(
        default=None, gt=0.0, le=10 * 365 * 86400.0, description="Seconds from now."
    )
    expires_at: datetime | None = Field(default=None, description="Or an absolute end (future).")

    @model_validator(mode="after")
    def _one_expiry(self) -> OverrideCreate:
        if self.ttl_s is not None and self.expires_at is not None:
            raise ValueError("give ttl_s or expires_at, not both")
        if "\x00" in self.value or "\x00" in self.reason:
            raise ValueError("NUL characters are not allowed")
        return self
