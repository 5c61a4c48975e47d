"""Hybrid retrieval: keyword + text vectors + ConSE image vectors, fused, filtered by the catalog.

Flow of a query: detect its language; when the filters are selective (or name
``ids``), ask the catalog for the allowed ids first and hand them to the
indexes; run each retriever to a fixed depth and cut its list at its
relevance floor (``agora.search.retrievers``); fuse (weighted RRF or a convex
combination, ``SearchSettings``); keep the candidates the catalog says may be
shown and match the filters; place them in the query's fixed hit order
(``agora.search.pool``: deeper fixed steps only append, so the order never
depends on the page size); cut the page; add highlights. A query that matched
nothing as typed gets a ``did_you_mean`` from the catalog's own words
(``agora.search.spelling``). Before any of that, with autocorrect on, words
the keyword index lacks and the language does not know are corrected from
the catalog's words and the corrected text is what every retriever searches
(``corrected_query`` in the result).

Fallbacks: see ``agora.search.text_query`` (vector side down: keyword only;
keyword index down: vectors only), counted in ``agora_fallbacks_total``.

Example:
    >>> backends = SearchBackends(settings)  # doctest: +SKIP
    >>> service = HybridSearch(backends, CatalogFilter(db), settings.search)  # doctest: +SKIP
    >>> service.search(SearchQuery("low poly tank", limit=5)).hits[0].scores  # doctest: +SKIP
    {'keyword': 7.31, 'text': 0.62}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from agora.errors import BackendUnavailable, NotFound
from agora.index.base import VectorIndex
from agora.search.backends import CONSE_INDEX, IMAGE_INDEX, TEXT_INDEX, SearchBackends, image_key
from agora.search.base import (
    MAX_DEPTH,
    Page,
    SearchFilters,
    SearchHit,
    SearchQuery,
    SearchResult,
    VisualQuery,
)
from agora.search.filters import CatalogEntry, CatalogFilter
from agora.search.fusion import Contribution, bounds, contributions, fuse
from agora.search.hits import build_hit
from agora.search.language import detect_language
from agora.search.pool import Layer, Served, serve, step_depths
from agora.search.retrievers import Found, floored, floored_images, relevance_floors
from agora.search.spelling import Speller
from agora.search.text_query import (
    IMAGES_PER_ASSET,
    PageMarks,
    TextRetrieval,
    image_rows,
    keyword_evidence,
    query_evidence,
    record_fallback,
)

if TYPE_CHECKING:
    from agora.config import SearchSettings

log = logging.getLogger("agora.search")
# A query with more words than this that no document contains is not a typo
# (a long description, another language): no spelling scan for it.
SUGGEST_UP_TO = 3
Lists = Callable[[int], Mapping[str, Found]]


class HybridSearch:
    """``SearchService`` over ``SearchBackends``, filtered by the catalog."""

    def __init__(
        self,
        backends: SearchBackends,
        catalog: CatalogFilter,
        settings: SearchSettings,
        speller: Speller | None = None,
    ) -> None:
        self.backends = backends
        self.catalog = catalog
        self.settings = settings
        self.floors = relevance_floors(settings)
        self.speller = speller or Speller(catalog.words, max_age_s=settings.vocabulary_max_age_s)
        self.depths = step_depths(settings.candidates, MAX_DEPTH)

    @staticmethod
    def nearest(
        index: VectorIndex, vec: np.ndarray, k: int, key: str, allowed: Collection[str] | None
    ) -> list[tuple[str, float]]:
        """Top-``k`` (id, cosine) of one query vector."""
        if len(index) == 0 or k <= 0:
            return []
        hits = index.search(vec[None, :], k, encoder=key, allowed=allowed)[0]
        return [(h.id, h.score) for h in hits]

    # -- assembling ---------------------------------------------------------

    def _layer(self, found: Mapping[str, Found], filters: SearchFilters) -> Layer:
        lists = {n: f.ranked for n, f in found.items() if f.ranked}
        fused = fuse(
            lists,
            weights=self.settings.fusion_weights,
            k=self.settings.rrf_k,
            method="rrf" if self.settings.fusion == "rrf" else "convex",
        )
        scores = dict(fused)
        eligible = self.catalog.eligible([doc for doc, _ in fused], filters)
        per = {n: {doc: (rank, s) for rank, (doc, s) in enumerate(r, 1)} for n, r in lists.items()}
        exhausted = all(f.exhausted for f in found.values())
        return Layer([(doc, scores[doc]) for doc in eligible], exhausted, per, bounds(lists))

    def _explain(self, doc: str, layer: Layer) -> dict[str, Contribution]:
        """A page hit's fusion contributions, from the layer that placed it.

        Computed for every page hit (a few additions each, page-sized): the
        API renders them only when asked (``explain``)."""
        found = {n: ranks[doc] for n, ranks in layer.per.items() if doc in ranks}
        return contributions(
            found,
            lists=list(layer.per),
            list_bounds=layer.bounds,
            weights=self.settings.fusion_weights,
            k=self.settings.rrf_k,
            method="rrf" if self.settings.fusion == "rrf" else "convex",
        )

    def _serve(self, lists: Lists, filters: SearchFilters, page: Page) -> Served:
        return serve(
            lambda depth: self._layer(lists(depth), filters), page.offset + page.limit, self.depths
        )

    def _page(
        self,
        served: Served,
        filters: SearchFilters,
        page: Page,
        query_text: str | None,
        marks: Mapping[str, dict[str, str]],
        page_marks: PageMarks | None,
    ) -> tuple[list[SearchHit], int]:
        """The page's hits and how many placed candidates the catalog no longer shows.

        Only the page is read from the catalog, with every visibility and filter
        condition: an asset the snapshot still lists but that is no longer
        visible is dropped here and the next candidate moves up."""
        placed = {doc: (score, n) for doc, score, n in served.order}
        candidates = list(placed)
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
        all_marks = dict(marks)
        if page_marks is not None and shown:
            all_marks |= page_marks(shown)
        hits = [
            build_hit(
                doc,
                placed[doc][0],
                served.layers[placed[doc][1]].per,
                entries[doc],
                query_text,
                all_marks,
                self._explain(doc, served.layers[placed[doc][1]]),
            )
            for doc in shown
        ]
        return hits, len(placed) - len(candidates)

    def _result(
        self,
        served: Served,
        *,
        mode: str,
        filters: SearchFilters,
        page: Page,
        started: float,
        query_text: str | None = None,
        marks: Mapping[str, dict[str, str]] | None = None,
        page_marks: PageMarks | None = None,
        models: dict[str, str] | None = None,
        fallbacks: list[str] | None = None,
        language: str | None = None,
    ) -> SearchResult:
        hits, dropped = self._page(served, filters, page, query_text, marks or {}, page_marks)
        return SearchResult(
            hits=hits,
            total=served.total - dropped,
            mode=mode,
            offset=page.offset,
            limit=page.limit,
            models=models or {},
            fallbacks=fallbacks or [],
            language=language,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _empty(self, mode: str, page: Page, started: float, language: str | None) -> SearchResult:
        nothing = Served([], [], 0, complete=True)
        return self._result(
            nothing,
            mode=mode,
            filters=SearchFilters(),
            page=page,
            started=started,
            language=language,
        )

    def _suggest(self, text: str, language: str | None, words: list[str] | None) -> str | None:
        try:
            return self.speller.suggest(text, language, only=words or None)
        except Exception:  # a suggestion is a nicety: never fail the search for it
            log.exception("search: spelling suggestion failed")
            return None

    def _autocorrect(self, query: SearchQuery, language: str | None) -> str | None:
        """The query with misspelt words corrected, or None (nothing to correct,
        autocorrect off, or a keyword backend that cannot say which words it lacks)."""
        on = self.settings.autocorrect if query.autocorrect is None else query.autocorrect
        if not on:
            return None
        _, unknown = keyword_evidence(self.backends, query.text, language)
        if not unknown or len(unknown) > SUGGEST_UP_TO:
            return None
        try:
            return self.speller.autocorrect(query.text, language, unknown=unknown)
        except Exception:  # a correction is a nicety: search as typed instead
            log.exception("search: autocorrect failed")
            return None

    # -- public API ---------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Hybrid (or keyword / semantic, per ``query.mode``) text search."""
        query.validate()
        started = time.perf_counter()
        language = detect_language(query.text)
        allowed = self.catalog.allowed_ids(query.filters, limit=self.settings.prefilter_max)
        if allowed is not None and not allowed:
            return self._empty(query.mode, query.page, started, language)
        corrected = self._autocorrect(query, language)
        if corrected is not None:
            query = replace(query, text=corrected)
        run = TextRetrieval(self, query, language=language, allowed=allowed)
        served = self._serve(run.lists, query.filters, query.page)
        result = self._result(
            served,
            mode=query.mode,
            filters=query.filters,
            page=query.page,
            started=started,
            query_text=query.text,
            marks=run.marks,
            page_marks=run.page_marks,
            models=run.models,
            fallbacks=run.fallbacks,
            language=language,
        )
        result = replace(result, corrected_query=corrected)
        unknown = run.unknown_words
        typo = unknown and len(unknown) <= SUGGEST_UP_TO
        if query.offset == 0 and (result.total == 0 or run.keyword_missed or typo):
            suggestion = self._suggest(query.text, language, unknown)
            if suggestion is not None:
                took = round((time.perf_counter() - started) * 1000, 3)
                result = replace(result, did_you_mean=suggestion, took_ms=took)
        return result

    def semantic(self, query: SearchQuery) -> SearchResult:
        """Vector-only text search (falls back to keywords when vectors are down)."""
        return self.search(replace(query, mode="semantic"))

    def _asset_image_vectors(self, asset_id: str) -> np.ndarray:
        index = self.backends.vector(IMAGE_INDEX)
        stored = index.get([image_key(asset_id, n) for n in range(64)])
        if not stored:
            raise NotFound(f"asset {asset_id!r} has no indexed images")
        return np.stack(list(stored.values()))

    def _visual_lists(
        self, query: VisualQuery, rows_allowed: set[str] | None, language: str | None
    ) -> tuple[Lists, dict[str, str]]:
        """The visual query's list at any depth (fails fast when its index is down)."""
        floors = self.floors
        if query.text is not None:
            index = self.backends.vector(CONSE_INDEX)
            vec = self.backends.text_encoder().encode_queries([query.text])[0]
            bridge = self.backends.conse().info
            evidence, _ = query_evidence(self.backends, query.text, language)
            floor = floors.get("conse", evidence=evidence)

            def conse(depth: int) -> Mapping[str, Found]:
                k = depth * IMAGES_PER_ASSET
                rows = self.nearest(index, vec, k, bridge.index_key, rows_allowed)
                return {"conse": floored_images([rows], k, floor)}

            return conse, {"conse": bridge.key}
        index = self.backends.vector(IMAGE_INDEX)
        encoder = self.backends.image_encoder()
        key = encoder.info.key
        if query.image is not None:
            queries = encoder.encode_images([query.image]).features
        else:
            assert query.asset_id is not None
            queries = self._asset_image_vectors(query.asset_id)

        def image(depth: int) -> Mapping[str, Found]:
            k = depth * IMAGES_PER_ASSET
            searches = [self.nearest(index, q, k, key, rows_allowed) for q in queries]
            found = floored_images(searches, k, floors.get("image"), exclude=query.asset_id)
            return {"image": found}

        return image, {"image": key}

    def visual(self, query: VisualQuery) -> SearchResult:
        """Image-to-image (upload or asset id) or text-to-image (ConSE) search."""
        query.validate()
        started = time.perf_counter()
        if query.asset_id is not None and self.catalog.entry(query.asset_id) is None:
            raise NotFound(f"asset {query.asset_id!r} not found")
        allowed = self.catalog.allowed_ids(query.filters, limit=self.settings.prefilter_max)
        language = detect_language(query.text) if query.text is not None else None
        if allowed is not None and not allowed:
            return self._empty("visual", query.page, started, language)
        try:
            lists, models = self._visual_lists(query, image_rows(allowed), language)
            served = self._serve(lists, query.filters, query.page)
        except (NotFound, BackendUnavailable):
            raise
        except Exception as exc:  # no keyword stand-in exists for a picture
            record_fallback("visual_unavailable", exc)
            raise BackendUnavailable(f"visual search is unavailable: {exc}") from exc
        return self._result(
            served,
            mode="visual",
            filters=query.filters,
            page=query.page,
            started=started,
            query_text=query.text,
            models=models,
            language=language,
        )

    def _similar_lists(
        self, asset_id: str, allowed: Mapping[str, int] | None
    ) -> tuple[Lists, dict[str, str]]:
        """Neighbours of the asset's own text and image vectors (no floor: it is an example)."""
        text_index = self.backends.vector(TEXT_INDEX)
        image_index = self.backends.vector(IMAGE_INDEX)
        stored = text_index.get([asset_id])
        text_key = text_index.encoder if asset_id in stored else None
        image_key_ = image_index.encoder
        images = image_index.get([image_key(asset_id, n) for n in range(64)]) if image_key_ else {}
        models = {"text": text_key} if text_key else {}
        if images and image_key_:
            models["image"] = image_key_
        rows_allowed = image_rows(allowed)

        def lists(depth: int) -> Mapping[str, Found]:
            out: dict[str, Found] = {}
            if text_key:
                rows = self.nearest(text_index, stored[asset_id], depth + 1, text_key, allowed)
                found = floored(rows, depth + 1, None)
                out["text"] = Found([r for r in found.ranked if r[0] != asset_id], found.exhausted)
            if images and image_key_:
                k = depth * IMAGES_PER_ASSET
                searches = [
                    self.nearest(image_index, vec, k, image_key_, rows_allowed)
                    for vec in images.values()
                ]
                out["image"] = floored_images(searches, k, None, exclude=asset_id)
            return out

        return lists, models

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
        if allowed is not None and not allowed:
            return self._empty("similar", page, started, None)
        try:
            lists, models = self._similar_lists(asset_id, allowed)
            served = self._serve(lists, filters, page)
        except Exception as exc:
            record_fallback("similar_unavailable", exc)
            raise BackendUnavailable(f"similar items are unavailable: {exc}") from exc
        return self._result(
            served, mode="similar", filters=filters, page=page, started=started, models=models
        )

    def close(self) -> None:
        """Persist and close the indexes (reopened lazily if used again)."""
        self.backends.close()
