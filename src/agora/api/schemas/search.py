"""Search: requests (GET query parameters and POST bodies share their fields and
rules) and the result page every search operation answers with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from agora.api.schemas.common import RequestModel, ResponseModel
from agora.search.base import MAX_ID_CHARS, MAX_IDS, MAX_LIMIT, MAX_QUERY_CHARS, SearchMode

__all__ = [
    "FusionContributionOut",
    "SearchFilterBody",
    "SearchHitAsset",
    "SearchHitOut",
    "SearchParams",
    "SearchRequest",
    "SearchResponse",
    "SemanticSearchParams",
    "SemanticSearchRequest",
    "SimilarParams",
    "VisualSearchParams",
    "VisualSearchRequest",
    "VisualSearchUpload",
]

Tag = Annotated[str, Field(min_length=1, max_length=64)]
AssetId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
QueryText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)]
AUTOCORRECT = (
    "Search with misspelt words corrected from the catalog's own words (the response's "
    "corrected_query says so). Unset: the server's search.autocorrect (on by default)."
)

EXPLAIN = (
    "Also return, per hit, each retriever's contribution to the fused score "
    "(explain); off by default."
)


def _split_commas(value: Any) -> Any:
    """``?tags=a,b&tags=c`` -> ``["a", "b", "c"]``: repeated or comma-separated."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [p.strip() for v in value for p in str(v).split(",") if p.strip()]
    return value


class SearchFilterBody(RequestModel):
    """Catalog filters. Search only ever returns active assets of sellers that are
    not banned; these narrow it further. ``tags``: every one must be on the asset
    (case-insensitive). ``ids``: only these assets (a marketplace re-ranking its
    own candidates), handed to the indexes as an allow-list."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"category": "vehicles", "max_price": 10.0, "tags": ["2d"]}]
        }
    )

    category: str | None = Field(default=None, max_length=128)
    seller_id: str | None = Field(default=None, max_length=64)
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, ge=0)
    in_stock: bool | None = Field(
        default=None, description="Unknown stock (digital goods) counts as in stock."
    )
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    ids: list[AssetId] = Field(
        default_factory=list,
        max_length=MAX_IDS,
        description=f"Search only within these asset ids (at most {MAX_IDS}).",
    )

    @model_validator(mode="after")
    def _price_range(self) -> SearchFilterBody:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price must not exceed max_price")
        return self


class _Paged(RequestModel):
    offset: int = Field(default=0, ge=0, description="Hits to skip (offset + limit <= 2000).")
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    explain: bool = Field(default=False, description=EXPLAIN)


class SemanticSearchRequest(_Paged):
    """``POST /search/semantic``: a text query, filters and a page."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"q": "armoured military vehicle", "filters": {"max_price": 5.0}, "limit": 10}
            ]
        }
    )

    q: QueryText
    filters: SearchFilterBody = Field(default_factory=SearchFilterBody)
    include_images: bool = Field(
        default=True, description="Also match pictures through their ConSE vectors."
    )
    autocorrect: bool | None = Field(default=None, description=AUTOCORRECT)


class SearchRequest(SemanticSearchRequest):
    """``POST /search``: hybrid search (``mode`` may narrow it to keyword or semantic)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "q": "red tank",
                    "mode": "hybrid",
                    "filters": {"category": "vehicles", "max_price": 3.0, "ids": []},
                    "offset": 0,
                    "limit": 20,
                }
            ]
        }
    )

    mode: SearchMode = "hybrid"


class _FilterParams(SearchFilterBody, _Paged):
    """Filters and page as query parameters; ``tags`` and ``ids`` repeat or comma-separate."""

    _split = field_validator("tags", "ids", mode="before")(_split_commas)


class SemanticSearchParams(_FilterParams):
    """``GET /search/semantic`` query parameters."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"q": "armoured military vehicle", "max_price": 5.0, "limit": 10}]
        }
    )

    q: QueryText
    include_images: bool = True
    autocorrect: bool | None = Field(default=None, description=AUTOCORRECT)


class SearchParams(SemanticSearchParams):
    """``GET /search`` query parameters."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"q": "red tank", "mode": "hybrid", "ids": ["a-1", "a-2"], "limit": 20}]
        }
    )

    mode: SearchMode = "hybrid"


class SimilarParams(_FilterParams):
    """``GET /assets/{asset_id}/similar`` query parameters."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"in_stock": True, "limit": 10}]})


class VisualSearchParams(_FilterParams):
    """``GET /search/visual``: images like an asset's (``asset_id``) or matching a text (``q``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"q": "red car", "limit": 10}]})

    asset_id: AssetId | None = None
    q: QueryText | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> VisualSearchParams:
        if (self.asset_id is None) == (self.q is None):
            raise ValueError("give exactly one of: asset_id, q")
        return self


class VisualSearchRequest(_Paged):
    """``POST /search/visual`` as JSON: pictures like an asset's, or matching a text."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"asset_id": "demo-sprites-topdown_tanks-tankbody_red", "limit": 10},
                {"text": "red car", "filters": {"max_price": 5.0}},
            ]
        }
    )

    asset_id: AssetId | None = None
    text: QueryText | None = None
    filters: SearchFilterBody = Field(default_factory=SearchFilterBody)

    @model_validator(mode="after")
    def _one_subject(self) -> VisualSearchRequest:
        if (self.asset_id is None) == (self.text is None):
            raise ValueError("give exactly one of: asset_id, text")
        return self


class VisualSearchUpload(_FilterParams):
    """``POST /search/visual`` as ``multipart/form-data``: a picture and optional
    filters and page as form fields (``tags``/``ids`` comma-separated or repeated)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"image": "(binary PNG or JPEG)", "limit": 10}]}
    )

    image: bytes = Field(
        json_schema_extra={"format": "binary", "examples": ["(binary PNG or JPEG)"]},
        description="The picture to search by (PNG, JPEG, WebP, ...).",
    )


# -- responses ------------------------------------------------------------------


class SearchHitAsset(ResponseModel):
    """Catalog fields shown with a hit."""

    title: str
    category: str | None = None
    price: float | None = None
    seller_id: str
    tags: list[str]


class FusionContributionOut(ResponseModel):
    """What one retriever added to a hit's fused score (``value``; a hit's
    values sum to its ``score``). RRF: ``value = weight / (k + rank)``. Convex:
    ``value = weight * normalised``, ``normalised = (score - low) / (high - low)``
    over that retriever's candidate list (1 when the list has one score), and
    ``weight`` is the retriever's share of the weights fused."""

    method: Literal["rrf", "convex"]
    value: float
    weight: float
    rank: int = Field(description="The hit's rank in this retriever's list (from 1).")
    score: float = Field(description="The hit's raw score from this retriever.")
    k: float | None = Field(default=None, description="RRF only: the rank constant.")
    normalised: float | None = Field(default=None, description="Convex only.")
    low: float | None = Field(default=None, description="Convex only: the list's lowest score.")
    high: float | None = Field(default=None, description="Convex only: the list's highest score.")


class SearchHitOut(ResponseModel):
    """One hit: its fused score and, per retriever that found it, score and rank."""

    id: str
    score: float = Field(description="Fused score; comparable within one result only.")
    scores: dict[str, float] = Field(
        description="Retriever (keyword, text, conse, image) -> its raw score "
        "(BM25, or cosine similarity)."
    )
    ranks: dict[str, int] = Field(description="Retriever -> rank in its list (from 1).")
    models: dict[str, str] = Field(description="Retriever -> name@version it used.")
    highlights: dict[str, str] = Field(
        description="Field -> HTML-escaped text with matched words in <mark>."
    )
    asset: SearchHitAsset
    explain: dict[str, FusionContributionOut] | None = Field(
        default=None,
        description="Only with explain=true: retriever -> its contribution to score.",
        # Left out (not null) unless asked: responses keep their size.
        exclude_if=lambda v: v is None,
    )


class SearchResponse(ResponseModel):
    """A page of hits. Hits form one fixed order per query: paging with any
    ``limit`` never repeats or skips one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "zzzqqqxx",
                    "mode": "hybrid",
                    "language": "en",
                    "total": 0,
                    "offset": 0,
                    "limit": 20,
                    "next_offset": None,
                    "degraded": False,
                    "fallbacks": [],
                    "models": {"text": "minilm@l6-v2-int8-1.0.0", "keyword": "bm25s@0.2.14"},
                    "took_ms": 12.4,
                    "did_you_mean": None,
                    "corrected_query": None,
                    "hits": [],
                }
            ]
        }
    )

    query: str | None = Field(description="The query text, or the asset id searched by.")
    mode: Literal["hybrid", "keyword", "semantic", "visual", "similar"]
    language: str | None = Field(description="Detected language of the query (ISO 639-1).")
    total: int = Field(
        description="Hits known so far (a lower bound while next_offset is set and "
        "more may lie deeper)."
    )
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")
    degraded: bool = Field(description="A retriever was down and a fallback answered.")
    fallbacks: list[str]
    models: dict[str, str] = Field(description="Retriever -> name@version.")
    took_ms: float
    did_you_mean: str | None = Field(
        default=None,
        description="The query spelt with the catalog's own words, when it matched "
        "nothing as typed.",
    )
    corrected_query: str | None = Field(
        default=None,
        description="The text searched instead of the query, when autocorrect changed "
        "misspelt words ('Showing results for ...'); null when searched as typed.",
    )
    hits: list[SearchHitOut]
