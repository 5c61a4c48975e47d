"""Recommendations: per-user lists, item-to-item by behaviour, batches."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from agora.api.schemas.common import RequestModel, ResponseModel

MAX_N = 1000
"""The longest list one request may ask for."""
MAX_BATCH = 100
"""The most requests one batch may carry."""

Algorithm = Literal[
    "smart",
    "als",
    "bpr",
    "ease",
    "item_knn",
    "content",
    "trending",
    "hybrid",
    "transformer",
    "neural_cf",
    "graph",
    "collaborative",
    "content_based",
]
"""What ``algorithm`` accepts (``agora.recommend.names.ACCEPTED``, checked by a test):
Agora's names and seed 003's; ``smart`` lets the bandit choose for the user's segment."""

ALGORITHM_DOC = (
    "`smart` lets the bandit choose for the user's segment. Seed 003's names: "
    "`collaborative` is served by `als` and `content_based` by `content` (the answer's "
    "`requested_algorithm` names the Agora algorithm); `hybrid`, `trending`, `smart`, "
    "`transformer`, `neural_cf` and `graph` are served as named (a model not trained "
    "or not loadable here answers trending, flagged `fallback`)."
)
ALGORITHM_SCHEMA: JsonDict = {"x-aliases": {"collaborative": "als", "content_based": "content"}}
"""The seed-name mapping, machine-readable in OpenAPI (``agora.recommend.names.SEED_ALIASES``)."""

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class RecommendRequest(RequestModel):
    """One list of a batch: the same parameters as ``GET /recommendations/{user_id}``."""

    user_id: Id
    n: int = Field(default=10, ge=1, le=MAX_N)
    algorithm: Algorithm = Field(
        default="smart", description=ALGORITHM_DOC, json_schema_extra=ALGORITHM_SCHEMA
    )
    category: Category | None = Field(default=None, description="Only assets of this category.")


class RecommendBatch(RequestModel):
    """``POST /api/v1/recommendations:batch`` body: up to 100 lists at once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {"user_id": "u-42", "n": 10},
                        {"user_id": "u-7", "n": 5, "algorithm": "ease", "category": "audio"},
                    ]
                }
            ]
        }
    )
    requests: list[RecommendRequest] = Field(min_length=1, max_length=MAX_BATCH)


class RecommendedAsset(ResponseModel):
    """One recommended asset; ``score`` compares only within its list."""

    asset_id: str
    score: float
    source: str = Field(description="The algorithm (or candidate source) that produced it.")


class RecommendationList(ResponseModel):
    """A served list with the provenance every ML answer carries."""

    user_id: str | None = Field(description="Empty for item-to-item lists.")
    algorithm: str = Field(
        description="What served the list: an algorithm, `cold_start` or `trending`."
    )
    requested_algorithm: str
    model: str = Field(description="`name@version` of the model(s) behind the list.")
    fallback: bool = Field(description="The requested model could not serve; trending did.")
    fallback_reason: str | None = None
    personalized: bool = Field(
        description="False without personalisation consent and for cold-start users."
    )
    cached: bool
    segment: str | None = Field(default=None, description="The bandit's user segment.")
    items: list[RecommendedAsset]


class SimilarAssets(RecommendationList):
    """Assets engaged with by the same users as ``asset_id``."""

    asset_id: str


class BatchResult(ResponseModel):
    """One list of a batch, in input order: the list when ``ok``, else its error."""

    index: int
    ok: bool
    status: int | None = Field(default=None, description="HTTP status of the error.")
    error: str | None = None
    user_id: str | None = None
    algorithm: str | None = None
    requested_algorithm: str | None = None
    model: str | None = None
    fallback: bool | None = None
    fallback_reason: str | None = None
    personalized: bool | None = None
    cached: bool | None = None
    segment: str | None = None
    items: list[RecommendedAsset] | None = None


class BatchResults(ResponseModel):
    """Per-request results of a batch."""

    results: list[BatchResult]


class RecommendParams(BaseModel):
    """Query parameters of ``GET /api/v1/recommendations/{user_id}``. An empty
    parameter (``category=``) is the same as an absent one."""

    n: int = Field(default=10, ge=1, le=MAX_N, description="How many assets.")
    algorithm: Algorithm = Field(
        default="smart", description=ALGORITHM_DOC, json_schema_extra=ALGORITHM_SCHEMA
    )
    category: Category | None = Field(default=None, description="Only assets of this category.")
    session_views: list[Id] | None = Field(
        default=None,
        max_length=50,
        description="Assets viewed in this session (repeat the parameter): content "
        "neighbours for a new user; such lists are not cached.",
    )
