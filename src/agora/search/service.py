"""Hybrid retrieval: keyword + text vectors + ConSE image vectors, fused, filtered by the catalog.

Flow of a query: detect its language; when the filters are selective, ask the
catalog for the allowed ids first and hand them to the indexes; run each
retriever to a candidate depth; fuse (weighted RRF or a convex combination,
``SearchSettings``); keep the candidates the catalog says may be shown and
match the filters; cut the page; add highlights.

Fallbacks: when the vector side fails (encoder or index), text queries are
answered from the keyword index alone, flagged ``vector_down_keyword_only`` in
the result and counted in ``agora_fallbacks_total``; when the keyword index
fails in hybrid mode, the vector lists answer (``keyword_down_vector_only``).

Example:
    >>> backends = backends_for(settings)  # doctest: +SKIP
    >>> service = HybridSearch(backends, CatalogFilter(db), settings.search)  # doctest: +SKIP
    >>> service.search(SearchQuery("low poly tank", limit=5)).hits[0].scores  # doctest: +SKIP
    {'keyword': 7.31, 'text': 0.62}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from agora.errors import BackendUnavailable, NotFound
from agora.index.base import VectorIndex
from agora.ops.fallbacks import count_fallback
from agora.search.backends import (
    CONSE_INDEX,
    IMAGE_INDEX,
    TEXT_INDEX,
    SearchBackends,
    image_key,
)
from agora.search.base import (
    FALLBACK_KEYWORD_DOWN,
    FALLBACK_VECTOR_DOWN,
    MAX_DEPTH,
    Page,
    SearchFilters,
    SearchQuery,
    SearchResult,
    VisualQuery,
)
from agora.search.filters import CatalogEntry, CatalogFilter
from agora.search.fusion import Ranked, fuse
from agora.search.hits import build_hit, keyword_model, per_asset
from agora.search.language import detect_language

if TYPE_CHECKING:
    from agora.config import SearchSettings

log = logging.getLogger("agora.search")
# Each asset may have several images: ask the per-image indexes for more rows.
IMAGES_PER_ASSET = 3
# Highlights for the returned page's ids, computed after the page is known.
PageMarks = Callable[[list[str]], Mapping[str, dict[str, str]]]


class HybridSearch:
    """``SearchService`` over ``SearchBackends``, filtered by the catalog."""

    def __init__(
        self, backends: SearchBackends, catalog: CatalogFilter, settings: SearchSettings
    ) -> None:
        self.backends = backends
        self.catalog = catalog
        self.settings = settings

    # -- retrievers ---------------------------------------------------------

    def _embed_query(self, text: str) -> tuple[np.ndarray, str]:
        # The served encoder caches query embeddings and micro-batches concurrent ones.
        encoder = self.backends.text_encoder()
        return encoder.encode_queries([text])[0], encoder.info.key

    @staticmethod
    def _search(
        index: VectorIndex, vec: np.ndarray, k: int, key: str, allowed: Collection[str] | None
    ) -> list[tuple[str, float]]:
        if len(index) == 0 or k <= 0:
            return []
        hits = index.search(vec[None, :], k, encoder=key, allowed=allowed)[0]
        return [(h.id, h.score) for h in hits]

    def _image_rows(self, allowed: Mapping[str, int] | None) -> set[str] | None:
        if allowed is None:
            return None
        return {image_key(a, n) for a, count in allowed.items() for n in range(count)}

    def _vector_lists(
        self, text: str, depth: int, allowed: Mapping[str, int] | None, with_images: bool
    ) -> tuple[dict[str, Ranked], dict[str, str]]:
        vec, key = self._embed_query(text)
        lists: dict[str, Ranked] = {
            "text": self._search(self.backends.vector(TEXT_INDEX), vec, depth, key, allowed)
        }
        models = {"text": key}
        if with_images and self.settings.fusion_weights.get("conse", 0.0) > 0:
            bridge = self.backends.conse().info
            rows = self._search(
                self.backends.vector(CONSE_INDEX),
                vec,
                depth * IMAGES_PER_ASSET,
                bridge.index_key,
                self._image_rows(allowed),
            )
            lists["conse"] = per_asset(rows)
            models["conse"] = bridge.key
        return lists, models

    def _keyword_list(
        self, text: str, depth: int, allowed: Collection[str] | None, language: str | None
    ) -> tuple[Ranked, dict[str, dict[str, str]], str, PageMarks | None]:
        index = self.backends.keyword()
        highlight = getattr(index, "highlight", None)
        if highlight is None:  # a backend that marks every hit as it scores
            hits = index.search(text, depth, allowed=allowed, language=language)
            marks = {h.id: h.highlights for h in hits}
            return [(h.id, h.score) for h in hits], marks, keyword_model(index), None
        # Marking is most of BM25's cost at depth 200: mark the returned page only.
        bare = cast(Any, index).search  # Bm25Index: scoring without marking
        hits = bare(text, depth, allowed=allowed, language=language, highlights=False)
        ranked = [(h.id, h.score) for h in hits]
        matched = {h.id for h in hits}

        def page_marks(ids: list[str]) -> Mapping[str, dict[str, str]]:
            found: Mapping[str, dict[str, str]] = highlight(
                text, [i for i in ids if i in matched], language=language
            )
            return found

        return ranked, {}, keyword_model(index), page_marks

    # -- assembling ---------------------------------------------------------

    def _depth(self, page: Page) -> int:
        # Post-filtering drops candidates: fetch past the page end.
        return min(MAX_DEPTH, max(self.settings.candidates, 2 * (page.offset + page.limit)))

    def _fallback(self, kind: str, exc: BaseException) -> None:
        log.warning("search fallback %s: %s: %s", kind, type(exc).__name__, exc)
        count_fallback(kind)

    def _assemble(
        self,
        lists: Mapping[str, Ranked],
        *,
        mode: str,
        filters: SearchFilters,
        page: Page,
        started: float,
        query_text: str | None = None,
        highlights: Mapping[str, dict[str, str]] | None = None,
        models: dict[str, str] | None = None,
        fallbacks: list[str] | None = None,
        language: str | None = None,
        page_marks: PageMarks | None = None,
    ) -> SearchResult:
        fused = fuse(
            {n: ranked for n, ranked in lists.items() if ranked},
            weights=self.settings.fusion_weights,
            k=self.settings.rrf_k,
            method="rrf" if self.settings.fusion == "rrf" else "convex",
        )
        scores = dict(fused)
        candidates = self.catalog.eligible([doc for doc, _ in fused], filters)
        # Only the page is read from the catalog, with every visibility and
        # filter condition: an asset the snapshot still lists but that is no
        # longer visible is dropped here and the next candidate moves up.
        entries: dict[str, CatalogEntry] = {}
        end = page.offset + page.limit
        window = candidates[page.offset : end]
        while window:
            found = self.catalog.visible(window, filters)
            entries |= found
            if len(found) == len(window):
                break
            candidates = [d for d in candidates if d in entries or d not in window]
            window = [d for d in candidates[page.offset : end] if d not in entries]
        shown = [d for d in candidates[page.offset : end] if d in entries]
        per = {n: {doc: (rank, s) for rank, (doc, s) in enumerate(r, 1)} for n, r in lists.items()}
        marks = dict(highlights or {})
        if page_marks is not None and shown:
            marks |= page_marks(shown)
        hits = [build_hit(doc, scores[doc], per, entries[doc], query_text, marks) for doc in shown]
        return SearchResult(
            hits=hits,
            total=len(candidates),
            mode=mode,
            offset=page.offset,
            limit=page.limit,
            models=models or {},
            fallbacks=fallbacks or [],
            language=language,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _empty(self, mode: str, page: Page, started: float, language: str | None) -> SearchResult:
        return self._assemble(
            {}, mode=mode, filters=SearchFilters(), page=page, started=started, language=language
        )

    # -- public API ---------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Hybrid (or keyword / semantic, per ``query.mode``) text search."""
        query.validate()
        started = time.perf_counter()
        language = detect_language(query.text)
        allowed = self.catalog.allowed_ids(query.filters, limit=self.settings.prefilter_max)
        if allowed is not None and not allowed:
            return self._empty(query.mode, query.page, started, language)
        depth = self._depth(query.page)
        lists: dict[str, Ranked] = {}
        models: dict[str, str] = {}
        fallbacks: list[str] = []
        marks: dict[str, dict[str, str]] = {}
        page_marks: PageMarks | None = None
        want_keyword = query.mode in ("hybrid", "keyword")
        if query.mode in ("hybrid", "semantic"):
            try:
                vector_lists, vector_models = self._vector_lists(
                    query.text, depth, allowed, query.include_images
                )
                lists |= vector_lists
                models |= vector_models
            except Exception as exc:  # any vector failure: answer from keywords
                self._fallback(FALLBACK_VECTOR_DOWN, exc)
                fallbacks.append(FALLBACK_VECTOR_DOWN)
                want_keyword = True
        if want_keyword:
            try:
                lists["keyword"], marks, models["keyword"], page_marks = self._keyword_list(
                    query.text, depth, allowed, language
                )
            except Exception as exc:
                if not lists:
                    raise BackendUnavailable(f"no search backend answered: {exc}") from exc
                self._fallback(FALLBACK_KEYWORD_DOWN, exc)
                fallbacks.append(FALLBACK_KEYWORD_DOWN)
        return self._assemble(
            lists,
            mode=query.mode,
            filters=query.filters,
            page=query.page,
            started=started,
            query_text=query.text,
            highlights=marks,
            models=models,
            fallbacks=fallbacks,
            language=language,
            page_marks=page_marks,
        )

    def semantic(self, query: SearchQuery) -> SearchResult:
        """Vector-only text search (falls back to keywords when vectors are down)."""
        return self.search(
            SearchQuery(
                query.text,
                query.filters,
                "semantic",
                query.offset,
                query.limit,
                query.include_images,
            )
        )

    def _asset_image_vectors(self, asset_id: str) -> np.ndarray:
        index = self.backends.vector(IMAGE_INDEX)
        stored = index.get([image_key(asset_id, n) for n in range(64)])
        if not stored:
            raise NotFound(f"asset {asset_id!r} has no indexed images")
        return np.stack(list(stored.values()))

    def visual(self, query: VisualQuery) -> SearchResult:
        """Image-to-image (upload or asset id) or text-to-image (ConSE) search."""
        query.validate()
        started = time.perf_counter()
        if query.asset_id is not None and self.catalog.entry(query.asset_id) is None:
            raise NotFound(f"asset {query.asset_id!r} not found")
        allowed = self.catalog.allowed_ids(query.filters, limit=self.settings.prefilter_max)
        if allowed is not None and not allowed:
            return self._empty("visual", query.page, started, None)
        rows_allowed = self._image_rows(allowed)
        k = self._depth(query.page) * IMAGES_PER_ASSET
        language = None
        try:
            if query.text is not None:
                language = detect_language(query.text)
                index = self.backends.vector(CONSE_INDEX)  # fails fast when down
                vec, _ = self._embed_query(query.text)
                bridge = self.backends.conse().info
                rows = self._search(index, vec, k, bridge.index_key, rows_allowed)
                lists: dict[str, Ranked] = {"conse": per_asset(rows)}
                models = {"conse": bridge.key}
            else:
                index = self.backends.vector(IMAGE_INDEX)  # fails fast when down
                encoder = self.backends.image_encoder()
                key = encoder.info.key
                if query.image is not None:
                    queries = encoder.encode_images([query.image]).features
                else:
                    assert query.asset_id is not None
                    queries = self._asset_image_vectors(query.asset_id)
                rows = [r for q in queries for r in self._search(index, q, k, key, rows_allowed)]
                lists = {"image": per_asset(rows, exclude=query.asset_id)}
                models = {"image": key}
        except (NotFound, BackendUnavailable):
            raise
        except Exception as exc:  # no keyword stand-in exists for a picture
            self._fallback("visual_unavailable", exc)
            raise BackendUnavailable(f"visual search is unavailable: {exc}") from exc
        return self._assemble(
            lists,
            mode="visual",
            filters=query.filters,
            page=query.page,
            started=started,
            query_text=query.text,
            models=models,
            language=language,
        )

    def similar(
        self,
        asset_id: str,
        *,
        filters: SearchFilters | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResult:
        """Assets like ``asset_id``: its text and image vectors' neighbours, fused."""
        filters = filters or SearchFilters()
        page = Page(offset, limit)
        filters.validate()
        page.validate()
        started = time.perf_counter()
        if self.catalog.entry(asset_id) is None:
            raise NotFound(f"asset {asset_id!r} not found")
        allowed = self.catalog.allowed_ids(filters, limit=self.settings.prefilter_max)
        depth = self._depth(page) + 1
        lists: dict[str, Ranked] = {}
        models: dict[str, str] = {}
        try:
            text_index = self.backends.vector(TEXT_INDEX)
            stored = text_index.get([asset_id])
            if asset_id in stored and text_index.encoder:
                rows = self._search(
                    text_index, stored[asset_id], depth, text_index.encoder, allowed
                )
                lists["text"] = [(d, s) for d, s in rows if d != asset_id]
                models["text"] = text_index.encoder
            image_index = self.backends.vector(IMAGE_INDEX)
            if image_index.encoder:
                images = image_index.get([image_key(asset_id, n) for n in range(64)])
                rows = [
                    r
                    for vec in images.values()
                    for r in self._search(
                        image_index,
                        vec,
                        depth * IMAGES_PER_ASSET,
                        image_index.encoder,
                        self._image_rows(allowed),
                    )
                ]
                if images:
                    lists["image"] = per_asset(rows, exclude=asset_id)
                    models["image"] = image_index.encoder
        except Exception as exc:
            self._fallback("similar_unavailable", exc)
            raise BackendUnavailable(f"similar items are unavailable: {exc}") from exc
        return self._assemble(
            lists, mode="similar", filters=filters, page=page, started=started, models=models
        )

    def close(self) -> None:
        """Persist and close the indexes (reopened lazily if used again)."""
        self.backends.close()
