"""Users and sellers."""

from __future__ import annotations

from pydantic import Field

from agora.api.schemas.common import JSONObject, ResponseModel, UtcDatetime
from agora.catalog.schemas import SellerUpsert, UserUpsert

__all__ = ["Seller", "SellerUpsert", "User", "UserUpsert"]


class Seller(ResponseModel):
    """A seller: trust decisions and free-form attributes."""

    id: str
    name: str | None = None
    trust_score: float = Field(description="0-1; moderation and ranking read it.")
    verified: bool
    banned: bool = Field(description="A banned seller's assets are never shown.")
    attributes: JSONObject
    created_at: UtcDatetime
    updated_at: UtcDatetime


class User(ResponseModel):
    """A buyer: region, optional position, free-form attributes."""

    id: str
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    attributes: JSONObject
    created_at: UtcDatetime
    updated_at: UtcDatetime
