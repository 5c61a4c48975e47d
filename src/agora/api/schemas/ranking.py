"""Ranked feed and ranked search: request parameters and the ranked list they answer with."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from agora.api.schemas.common import RequestModel, ResponseModel

__all__ = [
    "Explanation",
    "FeedParams",
    "RankedItemOut",
    "RankedList",
    "RankedSearchParams",
    "ServedVersion",
]

# Mirrors agora.ranking.service (MAX_N, MAX_QUERY_CHARS), which this module must
# not import (it pulls the pipeline in); tests/unit/test_api_schemas checks they agree.
MAX_N = 100
MAX_QUERY_CHARS = 1000


class FeedParams(RequestModel):
    """``GET /feed/{user_id}`` query parameters."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"n": 20, "explain": False, "max_distance_km": 50}]}
    )

    n: int = Field(default=20, ge=1, le=MAX_N, description="Slots to fill.")
    explain: bool = Field(default=False, description="Add SHAP contributions per item.")
    max_distance_km: float | None = Field(
        default=None,
        gt=0,
        le=20_100,
        description="Only items within this distance of the user (default: the settings').",
    )


class RankedSearchParams(FeedParams):
    """``GET /search/ranked`` query parameters."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"q": "red tank", "user_id": "u-42", "n": 20}]}
    )

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    user_id: str | None = Field(
        default=None, max_length=128, description="Personalise for this user."
    )


class Explanation(ResponseModel):
    """Why an item ranked here (with ``explain=true``): the scoring model's SHAP
    contributions to its raw output, and the seller's trust breakdown."""

    model_config = ConfigDict(extra="allow")

    model: str | None = Field(default=None, description="name@version explained.")
    base_value: float | None = None
    raw: float | None = Field(default=None, description="Raw model output (base + contributions).")
    contributions: dict[str, float] = Field(default_factory=dict)
    seller_trust: list[str] = Field(
        default_factory=list, description='How the seller\'s trust adds up ("+0.10 verified ID").'
    )


class RankedItemOut(ResponseModel):
    """One served slot. ``score`` is comparable within one list only."""

    asset_id: str
    position: int
    score: float
    seller_id: str | None = None
    sponsored: bool
    pctr: float | None = None
    pcvr: float | None = None
    seller_trust: float | None = None
    boost: float
    explanation: Explanation | None = None


class ServedVersion(ResponseModel):
    """A model version that served this request and its canary role."""

    version: str
    role: str = Field(description="champion, challenger, or latest (no champion set yet).")


class RankedList(ResponseModel):
    """Ranked items with the model versions, stage timings and fallbacks that made them."""

    request_id: str
    user_id: str | None = None
    query: str | None = None
    trending_fallback: bool = Field(
        description="The deadline passed: the cached trending-globally list was served."
    )
    fallbacks: list[str]
    models: dict[str, str] = Field(description="Stage -> name@version.")
    serving: dict[str, ServedVersion] = Field(description="Model name -> version and role.")
    timings_ms: dict[str, float] = Field(description="Stage -> milliseconds.")
    items: list[RankedItemOut]
