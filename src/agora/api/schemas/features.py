"""The feature store: views and online reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from agora.api.schemas.common import RequestModel, ResponseModel

FeatureValue = bool | int | float | str | None
"""An online value: typed by the feature's dtype; null when missing and without a default."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
EntityId = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\r\n\x00]+$")
]


class FeatureInfo(ResponseModel):
    """One feature of a view."""

    name: str
    dtype: Literal["float", "int", "bool", "string"]
    default: FeatureValue = Field(description="Served when the value is missing or stale.")
    description: str


class FeatureView(ResponseModel):
    """Features of one entity computed together, with their TTL and owner."""

    name: str
    entity: str
    join_key: str
    source: str = Field(description="batch, stream or request (computed at request time).")
    ttl_s: float | None = Field(description="A value older than this is stale (null: never).")
    owner: str
    description: str
    features: list[FeatureInfo]


class FeatureViews(ResponseModel):
    """Every registered feature view."""

    views: list[FeatureView]


class EntityFeatures(ResponseModel):
    """The online features of one entity id."""

    entity: str
    id: str
    features: dict[str, FeatureValue]


class FeatureReadRequest(RequestModel):
    """``POST /features:read`` body: one entity, many ids."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"entity": "asset", "ids": ["a-1", "a-2"], "features": ["price", "ctr_last_hour"]}
            ]
        }
    )
    entity: Name = Field(description="`user`, `asset`, `seller`...")
    ids: list[EntityId] = Field(description="At most 10 000 ids (more is a 413).")
    features: list[Name] | None = Field(
        default=None, description="Names to read (default: every feature of the entity)."
    )


class FeatureRow(ResponseModel):
    """One id's features."""

    id: str
    features: dict[str, FeatureValue]


class FeatureRows(ResponseModel):
    """Rows in the order of the requested ids."""

    entity: str
    rows: list[FeatureRow]
