"""Search: hybrid, semantic, visual and similar items.

- ``GET/POST /search``: hybrid keyword + vector search (``mode`` may narrow it
  to ``keyword`` or ``semantic``);
- ``GET/POST /search/semantic``: vector-only text search;
- ``POST /search/visual``: multipart ``image`` upload, or JSON ``asset_id`` /
  ``text`` (text-to-image through ConSE); ``GET`` with ``asset_id`` or ``q``;
- ``GET /assets/{id}/similar``: assets like this one.

Every hit carries its fused score, its score and rank per retriever, the
model versions of those retrievers and highlights; the response says which
fallbacks were taken (``degraded``, ``fallbacks``).
"""

from __future__ import annotations

import io
import warnings
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import PlatformDep, Reader
from agora.catalog.assets import validation_detail
from agora.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from agora.search.base import (
    MAX_LIMIT,
    SearchFilters,
    SearchMode,
    SearchQuery,
    SearchResult,
    VisualQuery,
)

router = APIRouter(tags=["search"])


class FilterBody(BaseModel):
    """Catalog filters (search only ever returns active assets)."""

    # ``?max_price=inf`` parses as a float; an infinite bound is a client error.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    category: str | None = Field(default=None, max_length=128)
    seller_id: str | None = Field(default=None, max_length=64)
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, ge=0)
    in_stock: bool | None = None
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)

    def to_filters(self) -> SearchFilters:
        return SearchFilters(
            category=self.category,
            seller_id=self.seller_id,
            min_price=self.min_price,
            max_price=self.max_price,
            in_stock=self.in_stock,
            tags=tuple(self.tags),
        )


class SearchBody(BaseModel):
    """``POST /search`` body."""

    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=1000)
    mode: SearchMode = "hybrid"
    filters: FilterBody = Field(default_factory=lambda: FilterBody())
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    include_images: bool = True


class VisualBody(BaseModel):
    """``POST /search/visual`` JSON body: an asset id or a text."""

    model_config = ConfigDict(extra="forbid")
    asset_id: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, min_length=1, max_length=1000)
    filters: FilterBody = Field(default_factory=lambda: FilterBody())
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)


def _validated(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(f"invalid search request: {validation_detail(exc)}") from None


def _filters(
    category: str | None,
    seller_id: str | None,
    min_price: float | None,
    max_price: float | None,
    in_stock: bool | None,
    tags: list[str] | None,
) -> SearchFilters:
    split = [t.strip() for raw in tags or [] for t in raw.split(",") if t.strip()]
    body = {
        "category": category,
        "seller_id": seller_id,
        "min_price": min_price,
        "max_price": max_price,
        "in_stock": in_stock,
        "tags": split,
    }
    filters: SearchFilters = _validated(FilterBody, body).to_filters()
    return filters


def render(result: SearchResult, query: str | None = None) -> dict[str, Any]:
    """JSON view of a result; each hit names the model versions of its retrievers."""
    return {
        "query": query,
        "mode": result.mode,
        "language": result.language,
        "total": result.total,
        "offset": result.offset,
        "limit": result.limit,
        "next_offset": result.next_offset,
        "degraded": result.degraded,
        "fallbacks": result.fallbacks,
        "models": result.models,
        "took_ms": result.took_ms,
        "hits": [
            {
                "id": h.id,
                "score": h.score,
                "scores": h.scores,
                "ranks": h.ranks,
                "models": {r: result.models[r] for r in h.scores if r in result.models},
                "highlights": h.highlights,
                "asset": h.asset,
            }
            for h in result.hits
        ],
    }


class _Common:
    """Query parameters shared by the GET routes."""

    def __init__(
        self,
        category: str | None = None,
        seller_id: str | None = None,
        min_price: Annotated[float | None, Query(ge=0)] = None,
        max_price: Annotated[float | None, Query(ge=0)] = None,
        in_stock: bool | None = None,
        tags: Annotated[list[str] | None, Query(description="repeat or comma-separate")] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    ) -> None:
        self.filters = _filters(category, seller_id, min_price, max_price, in_stock, tags)
        self.offset, self.limit = offset, limit


Common = Annotated[_Common, Depends()]


def _text_search(platform: Any, query: SearchQuery) -> dict[str, Any]:
    return render(platform.search.search(query), query.text)


@router.get("/search")
def search_get(
    platform: PlatformDep,
    _: Reader,
    common: Common,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    mode: SearchMode = "hybrid",
    include_images: bool = True,
) -> dict[str, Any]:
    """Hybrid search (keyword + vectors, fused); filters as query parameters."""
    query = SearchQuery(q, common.filters, mode, common.offset, common.limit, include_images)
    return _text_search(platform, query)


@router.post("/search")
async def search_post(request: Request, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Hybrid search with a JSON body: ``{"q": ..., "filters": {...}, "limit": 20}``."""
    body: SearchBody = _validated(SearchBody, await read_json_object(request))
    query = SearchQuery(
        body.q, body.filters.to_filters(), body.mode, body.offset, body.limit, body.include_images
    )
    return await run_in_threadpool(_text_search, platform, query)


@router.get("/search/semantic")
def semantic_get(
    platform: PlatformDep,
    _: Reader,
    common: Common,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    include_images: bool = True,
) -> dict[str, Any]:
    """Vector-only text search (text embeddings and ConSE image vectors)."""
    query = SearchQuery(q, common.filters, "semantic", common.offset, common.limit, include_images)
    return _text_search(platform, query)


@router.post("/search/semantic")
async def semantic_post(request: Request, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Vector-only text search with a JSON body (``mode`` is ignored)."""
    body: SearchBody = _validated(SearchBody, await read_json_object(request))
    query = SearchQuery(
        body.q, body.filters.to_filters(), "semantic", body.offset, body.limit, body.include_images
    )
    return await run_in_threadpool(_text_search, platform, query)


def _decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode an uploaded picture; refuse non-images and decompression bombs from the header."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > max_pixels:
                raise PayloadTooLarge(f"image has more than {max_pixels} pixels")
            img.draft("RGB", (448, 448))
            img.load()
    except PayloadTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge("image is too large to decode") from None
    except Exception as exc:
        raise UnsupportedMediaType(f"the upload is not a readable image: {exc}") from None
    return img


def _visual(platform: Any, query: VisualQuery) -> dict[str, Any]:
    return render(platform.search.visual(query), query.text or query.asset_id)


@router.post("/search/visual")
async def visual_post(request: Request, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Search by picture: multipart ``image`` (plus optional ``limit``, ``offset``),
    or JSON ``{"asset_id": ...}`` / ``{"text": "red car"}`` with optional ``filters``."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        limits = platform.settings.uploads
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("image")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise InvalidInput("multipart body needs an 'image' file field")
        assert upload is not None and not isinstance(upload, str)
        data = await upload.read(limits.max_file_bytes + 1)
        if len(data) > limits.max_file_bytes:
            raise PayloadTooLarge(f"image exceeds the {limits.max_file_bytes}-byte limit")
        fields = {k: v for k, v in form.items() if k != "image" and isinstance(v, str)}
        try:
            page = {k: int(v) for k, v in fields.items() if k in ("limit", "offset")}
        except ValueError:
            raise InvalidInput("limit and offset must be integers") from None
        unknown = set(fields) - {"limit", "offset"}
        if unknown:
            raise InvalidInput(f"unknown form fields: {sorted(unknown)}")
        image = await run_in_threadpool(_decode_image, data, limits.max_image_pixels)
        query = VisualQuery(image=image, offset=page.get("offset", 0), limit=page.get("limit", 20))
    else:
        body: VisualBody = _validated(VisualBody, await read_json_object(request))
        query = VisualQuery(
            asset_id=body.asset_id,
            text=body.text,
            filters=body.filters.to_filters(),
            offset=body.offset,
            limit=body.limit,
        )
    return await run_in_threadpool(_visual, platform, query)


@router.get("/search/visual")
def visual_get(
    platform: PlatformDep,
    _: Reader,
    common: Common,
    asset_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
) -> dict[str, Any]:
    """Images like an asset's (``asset_id``) or matching a text (``q``, via ConSE)."""
    query = VisualQuery(
        asset_id=asset_id,
        text=q,
        filters=common.filters,
        offset=common.offset,
        limit=common.limit,
    )
    return _visual(platform, query)


@router.get("/assets/{asset_id}/similar")
def similar(
    asset_id: str,
    platform: PlatformDep,
    _: Reader,
    common: Common,
) -> dict[str, Any]:
    """Active assets like this one (text and image neighbours, fused)."""
    result = platform.search.similar(
        asset_id, filters=common.filters, offset=common.offset, limit=common.limit
    )
    return render(result, asset_id)
