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
    from agora.eligibility.view import CatalogView
    from agora.features.base import OverrideReader
    from agora.search.backends import SearchBackends
    from agora.search.service import HybridSearch
    from agora.storage.database import Database


def open_search(
    settings: Settings,
    db: Database,
    backends: SearchBackends,
    view: CatalogView,
    *,
    overrides: OverrideReader | None = None,
) -> HybridSearch:
    """The search service for a process: its lazily opened backends, catalog filters
    on the process's catalog ``view``, admin bans from ``overrides``.

    Example:
        >>> service = open_search(
        ...     platform.settings, platform.db, platform.search_backends, platform.catalog_view
        ... )  # doctest: +SKIP
        >>> service.search(SearchQuery("tank")).total  # doctest: +SKIP
        3
    """
    # Imported here: importing agora.search (for its types) stays cheap.
    from agora.search.filters import CatalogFilter
    from agora.search.service import HybridSearch

    catalog = CatalogFilter(db, view, overrides=overrides)
    return HybridSearch(backends, catalog, settings.search)
