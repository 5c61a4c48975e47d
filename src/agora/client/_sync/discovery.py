# Generated from agora/client/_async by scripts/gen-sync-client: do not edit.
"""Search, ranked feeds, recommendations and tags."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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
from agora.client._sync.base import Resource, body
from agora.client.call import Call


def _filters(filters: SearchFilterBody | Mapping[str, Any] | None) -> dict[str, Any]:
    return body(SearchFilterBody, filters or {})


def _image(image: str | Path | bytes) -> tuple[str, tuple[str, bytes, str]]:
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    name = "image" if isinstance(image, bytes) else Path(image).name
    return "image", (name, data, "application/octet-stream")


class Search(Resource):
    """``/search``: keyword, semantic, hybrid and visual search."""

    def query(
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
        return self._call(Call("POST", "search", SearchResponse, json=payload))

    def hits(
        self, q: str, *, page_size: int = 100, max_hits: int = 1000, **options: Any
    ) -> Iterator[SearchHitOut]:
        """Every hit of a query, page after page (pages never repeat or skip a hit)."""
        offset = 0
        while offset < max_hits:
            limit = min(page_size, max_hits - offset)
            page = self.query(q, offset=offset, limit=limit, **options)
            for hit in page.hits:
                yield hit
            if page.next_offset is None:
                return
            offset = page.next_offset

    def by_image(
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
        return self._call(
            Call("POST", "search/visual", SearchResponse, data=fields, files=[_image(image)])
        )

    def by_text_to_image(
        self, text: str, *, filters: Mapping[str, Any] | None = None, limit: int = 20
    ) -> SearchResponse:
        """Pictures that match a text (through the image classes' text embeddings)."""
        payload = {"text": text, "filters": _filters(filters), "limit": limit}
        return self._call(Call("POST", "search/visual", SearchResponse, json=payload))

    def similar(self, asset_id: str, *, limit: int = 20) -> SearchResponse:
        """Active assets like this one (text and image neighbours)."""
        params = {"limit": limit}
        return self._call(Call("GET", f"assets/{asset_id}/similar", SearchResponse, params=params))

    def ranked(
        self, q: str, *, user_id: str | None = None, n: int = 20, explain: bool = False
    ) -> RankedList:
        """Search results through the ranking pipeline (personalised for ``user_id``)."""
        params = {"q": q, "user_id": user_id, "n": n, "explain": explain}
        return self._call(Call("GET", "search/ranked", RankedList, params=params))


class Feed(Resource):
    """``/feed``: a user's ranked feed."""

    def get(self, user_id: str, *, n: int = 20, explain: bool = False) -> RankedList:
        """The ranked feed (``explain`` adds SHAP contributions per item)."""
        params = {"n": n, "explain": explain}
        return self._call(Call("GET", f"feed/{user_id}", RankedList, params=params))


class Recommendations(Resource):
    """``/recommendations``."""

    def for_user(
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
        return self._call(
            Call("GET", f"recommendations/{user_id}", RecommendationList, params=params)
        )

    def similar_by_behaviour(self, asset_id: str, *, n: int = 10) -> SimilarAssets:
        """Assets engaged with by the same users."""
        params = {"n": n}
        return self._call(
            Call("GET", f"assets/{asset_id}/similar-by-behaviour", SimilarAssets, params=params)
        )

    def batch(self, requests: Iterable[Mapping[str, Any]]) -> BatchResults:
        """Up to 100 lists in one call, in input order."""
        payload = body(RecommendBatch, {"requests": list(requests)})
        return self._call(Call("POST", "recommendations:batch", BatchResults, json=payload))


class Tags(Resource):
    """``/assets/{id}/tags`` and ``/tagging``."""

    def tag(
        self, asset_id: str, request: TagRequest | Mapping[str, Any] | None = None
    ) -> TaggingResult:
        """Tag an asset now (local models first; cloud only when allowed and asked)."""
        payload = body(TagRequest, request or {})
        return self._call(Call("POST", f"assets/{asset_id}/tags", TaggingResult, json=payload))

    def get(self, asset_id: str) -> TaggingResult:
        """The asset's last tagging result."""
        return self._call(Call("GET", f"assets/{asset_id}/tags", TaggingResult))

    def feedback(
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
        return self._call(
            Call("POST", f"assets/{asset_id}/tags/feedback", TagFeedbackResult, json=payload)
        )

    def train(self) -> HeadsTrained:
        """Train new tag heads through the evaluation gate now (admin)."""
        return self._call(Call("POST", "tagging/train", HeadsTrained))
