"""Validated shapes of catalog input (metadata of an asset, patches, people)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agora.domain import AssetStatus


def _no_nul(value: Any) -> Any:
    """Reject NUL characters anywhere in strings: PostgreSQL cannot store them,
    and the catalogs must behave alike."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("strings must not contain NUL characters")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    return value


def _clean_tags(tags: list[str]) -> list[str]:
    """Stripped, 1-64 characters each, duplicates dropped (first kept)."""
    seen: dict[str, None] = {}
    for tag in tags:
        t = tag.strip()
        if not t or len(t) > 64:
            raise ValueError("tags must be 1-64 characters")
        seen.setdefault(t, None)
    return list(seen)


class CatalogInput(BaseModel):
    """Base of catalog input models: strict about unknown fields and NULs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Fields a client may omit but may not send as null (the catalog column is
    # NOT NULL): an explicit null is a 422, never a database error.
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        return _no_nul(value)

    @model_validator(mode="after")
    def _required_not_null(self) -> Self:
        for name in self.NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class GeoPoint(BaseModel):
    """Latitude/longitude in degrees."""

    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class AssetMetadata(CatalogInput):
    """The ``metadata`` JSON object of ``POST /api/v1/assets``, and one line of
    ``POST /api/v1/assets:batch``. ``seller_id`` must name an existing seller;
    ``id`` is generated when absent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "tank-01",
                    "title": "Low-poly tank",
                    "description": "A small tank for arcade games, ready for Godot and Unity.",
                    "seller_id": "s-pixelforge",
                    "price": "4.99",
                    "currency": "USD",
                    "tags": ["tank", "vehicle", "low-poly"],
                    "category": "vehicles",
                    "format": "glb",
                    "stock": 100,
                    "attributes": {"polycount": 1200},
                }
            ]
        }
    )

    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    title: str = Field(min_length=1, max_length=512)
    description: str = Field(default="", max_length=20_000)
    seller_id: str = Field(min_length=1, max_length=128)
    price: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    tags: list[str] = Field(default_factory=list, max_length=64)
    category: str | None = Field(default=None, max_length=128)
    format: str | None = Field(default=None, max_length=64)
    stock: int | None = Field(default=None, ge=0)
    geo: GeoPoint | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, v: list[str]) -> list[str]:
        return _clean_tags(v)


class AssetPatch(CatalogInput):
    """Fields a ``PATCH /api/v1/assets/{id}`` may change. ``null`` clears the
    optional fields (price, currency, category, format, stock, geo); the others
    cannot be null. Changing ``status`` needs the ``moderator`` scope."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"title": "Low-poly tank (desert)", "price": "3.99", "stock": 40},
                {"status": "banned"},
            ]
        }
    )

    title: str | None = Field(default=None, min_length=1, max_length=512)
    description: str | None = Field(default=None, max_length=20_000)
    price: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    tags: list[str] | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=128)
    format: str | None = Field(default=None, max_length=64)
    stock: int | None = Field(default=None, ge=0)
    geo: GeoPoint | None = None
    status: AssetStatus | None = None
    attributes: dict[str, Any] | None = None

    NOT_NULL = ("title", "description", "tags", "status", "attributes")

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, v: list[str] | None) -> list[str] | None:
        return _clean_tags(v) if v is not None else v

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("empty patch: name at least one field to change")
        return self


class SellerUpsert(CatalogInput):
    """Body of ``PUT /api/v1/sellers/{id}``: fields not sent are kept.

    ``trust_score``, ``verified`` and ``banned`` are trust decisions and need the
    ``moderator`` scope."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Pixel Forge", "attributes": {"country": "DE"}}]}
    )
    NOT_NULL = ("trust_score", "verified", "banned", "attributes")

    name: str | None = Field(default=None, max_length=256)
    trust_score: float | None = Field(default=None, ge=0, le=1)
    verified: bool | None = None
    banned: bool | None = None
    attributes: dict[str, Any] | None = None


class UserUpsert(CatalogInput):
    """Body of ``PUT /api/v1/users/{id}``: fields not sent are kept."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"region": "EU", "lat": 52.52, "lon": 13.40, "attributes": {"age": 31}}]
        }
    )
    NOT_NULL = ("attributes",)

    region: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    attributes: dict[str, Any] | None = None
