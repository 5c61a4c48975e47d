"""Search: hybrid keyword + vector retrieval, visual search, filters and fallbacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.search.base import (
    FALLBACK_KEYWORD_DOWN,
    FALLBACK_VECTOR_DOWN,
    MAX_LIMIT,
    SearchFilters,
    SearchHit,
    SearchMode,
    SearchQuery,
    SearchResult,
    SearchService,
    VisualQuery,
)

__all__ = [
    "FALLBACK_KEYWORD_DOWN",
    "FALLBACK_VECTOR_DOWN",
    "MAX_LIMIT",
    "SearchFilters",
    "SearchHit",
    "SearchMode",
    "SearchQuery",
    "SearchResult",
    "SearchService",
    "VisualQuery",
    "open_search",
]

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.search.backends import SearchBackends
    from agora.search.service import HybridSearch
    from agora.storage.database import Database


def open_search(settings: Settings, db: Database, backends: SearchBackends) -> HybridSearch:
    """The search service for a process: its lazily opened backends, catalog filters.

    Example:
        >>> service = open_search(platform.settings, platform.db, platform.search_backends)
        ... # doctest: +SKIP
        >>> service.search(SearchQuery("tank")).total  # doctest: +SKIP
        3
    """
    # Imported here: importing agora.search (for its types) stays cheap.
    from agora.search.filters import CatalogFilter
    from agora.search.service import HybridSearch
    from agora.search.snapshot import CatalogSnapshot

    snapshot = CatalogSnapshot(db, max_age_s=settings.search.snapshot_max_age_s)
    return HybridSearch(backends, CatalogFilter(db, snapshot), settings.search)
