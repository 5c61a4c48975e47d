"""Search: hybrid, semantic, visual and similar items.

- ``GET/POST /search``: hybrid keyword + vector search (``mode`` may narrow it
  to ``keyword`` or ``semantic``);
- ``GET/POST /search/semantic``: vector-only text search;
- ``POST /search/visual``: a ``multipart/form-data`` picture upload, or JSON
  ``asset_id`` / ``text`` (text-to-image through ConSE); ``GET`` with
  ``asset_id`` or ``q``;
- ``GET /assets/{id}/similar``: assets like this one.

Every hit carries its fused score, its score and rank per retriever, the
model versions of those retrievers and highlights; the response says which
fallbacks were taken (``degraded``, ``fallbacks``) and, for a query that
matched nothing as typed, ``did_you_mean``; when misspelt words were corrected
before searching (``autocorrect``, on by default), ``corrected_query``. Every
form takes the catalog filters, ``ids`` included (search within a given set of
assets).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Reader
from agora.api.schemas.search import (
    SearchFilterBody,
    SearchParams,
    SearchRequest,
    SearchResponse,
    SemanticSearchParams,
    SemanticSearchRequest,
    SimilarParams,
    VisualSearchParams,
    VisualSearchRequest,
    VisualSearchUpload,
)
from agora.errors import PayloadTooLarge
from agora.search.base import SearchFilters, SearchMode, SearchQuery, SearchResult, VisualQuery
from agora.search.render import decode_image, render

router = APIRouter(tags=["search"])


def filters_of(body: SearchFilterBody) -> SearchFilters:
    """The capability's filters from the validated request fields."""
    return SearchFilters(
        category=body.category,
        seller_id=body.seller_id,
        min_price=body.min_price,
        max_price=body.max_price,
        in_stock=body.in_stock,
        tags=tuple(body.tags),
        ids=tuple(dict.fromkeys(body.ids)),
    )


def _text(platform: Any, query: SearchQuery) -> dict[str, Any]:
    result: SearchResult = platform.search.search(query)
    return render(result, query.text, query.explain)


def _query(
    body: SemanticSearchRequest | SemanticSearchParams, filters: SearchFilters, mode: SearchMode
) -> SearchQuery:
    return SearchQuery(
        body.q,
        filters,
        mode,
        body.offset,
        body.limit,
        body.include_images,
        body.autocorrect,
        body.explain,
    )


@router.get("/search", response_model=SearchResponse)
def search_get(
    params: Annotated[SearchParams, Query()], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Hybrid search (keyword + vectors, fused); filters as query parameters
    (``tags`` and ``ids`` repeated or comma-separated)."""
    return _text(platform, _query(params, filters_of(params), params.mode))


@router.post("/search", response_model=SearchResponse)
async def search_post(body: SearchRequest, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """Hybrid search with a JSON body: ``{"q": ..., "filters": {...}, "limit": 20}``."""
    query = _query(body, filters_of(body.filters), body.mode)
    return await run_in_threadpool(_text, platform, query)


@router.get("/search/semantic", response_model=SearchResponse)
def semantic_get(
    params: Annotated[SemanticSearchParams, Query()], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Vector-only text search (text embeddings and ConSE image vectors)."""
    return _text(platform, _query(params, filters_of(params), "semantic"))


@router.post("/search/semantic", response_model=SearchResponse)
async def semantic_post(
    body: SemanticSearchRequest, platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Vector-only text search with a JSON body."""
    query = _query(body, filters_of(body.filters), "semantic")
    return await run_in_threadpool(_text, platform, query)


def _schema(model: Any) -> dict[str, Any]:
    """A model's JSON schema for ``openapi_extra``, its nested models referenced
    from the document's components (where the other routes put them)."""
    schema: dict[str, Any] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


VISUAL_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _schema(VisualSearchRequest)},
            "multipart/form-data": {"schema": _schema(VisualSearchUpload)},
        },
    }
}


async def visual_request(request: Request, platform: PlatformDep) -> VisualQuery:
    """``POST /search/visual``'s body, JSON or multipart, validated by its model."""
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await _upload(request, platform)
        body = VisualSearchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    return VisualQuery(
        asset_id=body.asset_id,
        text=body.text,
        filters=filters_of(body.filters),
        offset=body.offset,
        limit=body.limit,
        explain=body.explain,
    )


async def _upload(request: Request, platform: Any) -> VisualQuery:
    limits = platform.settings.uploads
    form = await request.form(max_files=1, max_fields=2 * 1000 + 20)
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "image" and not isinstance(value, str):
            data = await value.read(limits.max_file_bytes + 1)
            if len(data) > limits.max_file_bytes:
                raise PayloadTooLarge(f"image exceeds the {limits.max_file_bytes}-byte limit")
            fields["image"] = data
        elif key in ("tags", "ids"):
            fields.setdefault(key, []).append(value)
        else:
            fields[key] = value
    upload = VisualSearchUpload.model_validate(fields)
    image = await run_in_threadpool(decode_image, upload.image, limits.max_image_pixels)
    return VisualQuery(
        image=image,
        filters=filters_of(upload),
        offset=upload.offset,
        limit=upload.limit,
        explain=upload.explain,
    )


def _visual(platform: Any, query: VisualQuery) -> dict[str, Any]:
    return render(platform.search.visual(query), query.text or query.asset_id, query.explain)


@router.post("/search/visual", response_model=SearchResponse, openapi_extra=VISUAL_BODY)
async def visual_post(
    query: Annotated[VisualQuery, Depends(visual_request)], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Search by picture: ``multipart/form-data`` with an ``image`` file (plus
    optional filter and page fields), or JSON ``{"asset_id": ...}`` /
    ``{"text": "red car"}`` with optional ``filters``."""
    return await run_in_threadpool(_visual, platform, query)


@router.get("/search/visual", response_model=SearchResponse)
def visual_get(
    params: Annotated[VisualSearchParams, Query()], platform: PlatformDep, _: Reader
) -> dict[str, Any]:
    """Images like an asset's (``asset_id``) or matching a text (``q``, via ConSE)."""
    query = VisualQuery(
        asset_id=params.asset_id,
        text=params.q,
        filters=filters_of(params),
        offset=params.offset,
        limit=params.limit,
        explain=params.explain,
    )
    return _visual(platform, query)


@router.get("/assets/{asset_id}/similar", response_model=SearchResponse)
def similar(
    asset_id: Annotated[str, Path(max_length=64)],
    params: Annotated[SimilarParams, Query()],
    platform: PlatformDep,
    _: Reader,
) -> dict[str, Any]:
    """Active assets like this one (text and image neighbours, fused)."""
    result = platform.search.similar(
        asset_id, filters=filters_of(params), offset=params.offset, limit=params.limit
    )
    return render(result, asset_id, params.explain)
