"""Search, ranked feeds, recommendations and tags."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from agora.api.schemas.ranking import RankedList
from agora.api.schemas.recommendations import (
    BatchResults,
    RecommendationList,
    RecommendBatch,
    SimilarAssets,
)
from agora.api.schemas.search import SearchFilterBody, SearchHitOut, SearchRequest, SearchResponse
from agora.api.schemas.tagging import (
    HeadsTrained,
    TagFeedbackRequest,
    TagFeedbackResult,
    TaggingResult,
    TagRequest,
)
from agora.client._async.base import AsyncResource, body
from agora.client.call import Call


def _filters(filters: SearchFilterBody | Mapping[str, Any] | None) -> dict[str, Any]:
    return body(SearchFilterBody, filters or {})


def _image(image: str | Path | bytes) -> tuple[str, tuple[str, bytes, str]]:
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    name = "image" if isinstance(image, bytes) else Path(image).name
    return "image", (name, data, "application/octet-stream")


class AsyncSearch(AsyncResource):
    """``/search``: keyword, semantic, hybrid and visual search."""

    async def query(
        self,
        q: str,
        *,
        mode: str = "hybrid",
        filters: SearchFilterBody | Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int = 20,
        include_images: bool = True,
        autocorrect: bool | None = None,
    ) -> SearchResponse:
        """Text search; ``mode`` is ``hybrid`` (default), ``keyword`` or ``semantic``.
        ``autocorrect``: correct misspelt words first (None: the server's setting);
        the response's ``corrected_query`` names the text searched."""
        payload = body(
            SearchRequest,
            {
                "q": q,
                "mode": mode,
                "filters": _filters(filters),
                "offset": offset,
                "limit": limit,
                "include_images": include_images,
                "autocorrect": autocorrect,
            },
        )
        return await self._call(Call("POST", "search", SearchResponse, json=payload))

    async def hits(
        self, q: str, *, page_size: int = 100, max_hits: int = 1000, **options: Any
    ) -> AsyncIterator[SearchHitOut]:
        """Every hit of a query, page after page (pages never repeat or skip a hit)."""
        offset = 0
        while offset < max_hits:
            limit = min(page_size, max_hits - offset)
            page = await self.query(q, offset=offset, limit=limit, **options)
            for hit in page.hits:
                yield hit
            if page.next_offset is None:
                return
            offset = page.next_offset

    async def by_image(
        self,
        image: str | Path | bytes,
        *,
        filters: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResponse:
        """Search by picture (a path or the bytes of an image)."""
        fields: dict[str, Any] = {"offset": offset, "limit": limit}
        for name, value in _filters(filters).items():
            fields[name] = value
        return await self._call(
            Call("POST", "search/visual", SearchResponse, data=fields, files=[_image(image)])
        )

    async def by_text_to_image(
        self, text: str, *, filters: Mapping[str, Any] | None = None, limit: int = 20
    ) -> SearchResponse:
        """Pictures that match a text (through the image classes' text embeddings)."""
        payload = {"text": text, "filters": _filters(filters), "limit": limit}
        return await self._call(Call("POST", "search/visual", SearchResponse, json=payload))

    async def similar(self, asset_id: str, *, limit: int = 20) -> SearchResponse:
        """Active assets like this one (text and image neighbours)."""
        params = {"limit": limit}
        return await self._call(
            Call("GET", f"assets/{asset_id}/similar", SearchResponse, params=params)
        )

    async def ranked(
        self, q: str, *, user_id: str | None = None, n: int = 20, explain: bool = False
    ) -> RankedList:
        """Search results through the ranking pipeline (personalised for ``user_id``)."""
        params = {"q": q, "user_id": user_id, "n": n, "explain": explain}
        return await self._call(Call("GET", "search/ranked", RankedList, params=params))


class AsyncFeed(AsyncResource):
    """``/feed``: a user's ranked feed."""

    async def get(self, user_id: str, *, n: int = 20, explain: bool = False) -> RankedList:
        """The ranked feed (``explain`` adds SHAP contributions per item)."""
        params = {"n": n, "explain": explain}
        return await self._call(Call("GET", f"feed/{user_id}", RankedList, params=params))


class AsyncRecommendations(AsyncResource):
    """``/recommendations``."""

    async def for_user(
        self,
        user_id: str,
        *,
        n: int = 10,
        algorithm: str = "smart",
        category: str | None = None,
        session_views: Iterable[str] | None = None,
    ) -> RecommendationList:
        """Top-``n`` assets for a user (``session_views`` for an anonymous session)."""
        params = {
            "n": n,
            "algorithm": algorithm,
            "category": category,
            "session_views": list(session_views) if session_views is not None else None,
        }
        return await self._call(
            Call("GET", f"recommendations/{user_id}", RecommendationList, params=params)
        )

    async def similar_by_behaviour(self, asset_id: str, *, n: int = 10) -> SimilarAssets:
        """Assets engaged with by the same users."""
        params = {"n": n}
        return await self._call(
            Call("GET", f"assets/{asset_id}/similar-by-behaviour", SimilarAssets, params=params)
        )

    async def batch(self, requests: Iterable[Mapping[str, Any]]) -> BatchResults:
        """Up to 100 lists in one call, in input order."""
        payload = body(RecommendBatch, {"requests": list(requests)})
        return await self._call(Call("POST", "recommendations:batch", BatchResults, json=payload))


class AsyncTags(AsyncResource):
    """``/assets/{id}/tags`` and ``/tagging``."""

    async def tag(
        self, asset_id: str, request: TagRequest | Mapping[str, Any] | None = None
    ) -> TaggingResult:
        """Tag an asset now (local models first; cloud only when allowed and asked)."""
        payload = body(TagRequest, request or {})
        return await self._call(
            Call("POST", f"assets/{asset_id}/tags", TaggingResult, json=payload)
        )

    async def get(self, asset_id: str) -> TaggingResult:
        """The asset's last tagging result."""
        return await self._call(Call("GET", f"assets/{asset_id}/tags", TaggingResult))

    async def feedback(
        self,
        asset_id: str,
        items: Iterable[Mapping[str, Any]],
        *,
        role: str | None = None,
    ) -> TagFeedbackResult:
        """Confirm or reject tags (``{"name", "verdict": "confirm"|"reject"}``)."""
        fields: dict[str, Any] = {"items": list(items)}
        if role is not None:
            fields["role"] = role
        payload = body(TagFeedbackRequest, fields)
        return await self._call(
            Call("POST", f"assets/{asset_id}/tags/feedback", TagFeedbackResult, json=payload)
        )

    async def train(self) -> HeadsTrained:
        """Train new tag heads through the evaluation gate now (admin)."""
        return await self._call(Call("POST", "tagging/train", HeadsTrained))
