"""Shapes every capability's schemas share: strict request bodies, problem+json.

Example:
    >>> from pydantic import ValidationError
    >>> class Body(RequestModel):
    ...     title: str
    >>> try:
    ...     Body.model_validate({"title": "Tank", "titel": "typo"})
    ... except ValidationError as exc:
    ...     print(exc.errors()[0]["type"], exc.errors()[0]["loc"])
    extra_forbidden ('titel',)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are refused (a typo is a 422,
    never a silently ignored option) and infinities are not numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ResponseModel(BaseModel):
    """Base of every response body. Fields are declared; additions are
    backwards-compatible, so clients must ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore")


class Problem(BaseModel):
    """An RFC 9457 problem: every 4xx and 5xx answer has this body
    (``application/problem+json``), sometimes with extra members such as
    ``errors`` (validation) or ``retry_after`` (rate limits)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://agora.dev/problems/not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "asset 'a-404' not found",
                    "instance": "/api/v1/assets/a-404",
                }
            ]
        },
    )
    type: str = Field(description="URI of the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for a person.")
    instance: str | None = Field(default=None, description="The request path.")


def as_utc(value: datetime) -> datetime:
    """A stored time in UTC: SQLite hands back naive stamps, which Agora writes in UTC.

    >>> as_utc(datetime(2026, 12, 1, 10, 0)).isoformat()
    '2026-12-01T10:00:00+00:00'
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A response time: always with its offset (RFC 3339 ``date-time``), in UTC."""


def storable(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse a JSON object the stores cannot write: the bus and the catalog keep
    JSON with 64-bit integers (a 36-digit integer parses, then fails to store)."""
    try:
        orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError: integers beyond 64 bits
        raise ValueError(f"not storable as JSON: {exc}") from None
    return value


JSONObject = Annotated[dict[str, Any], AfterValidator(storable)]
"""A free-form JSON object (model parameters, step outputs, attributes)."""
