"""Keeps the search indexes in step with catalog changes (bus consumer).

- ``asset.updated``: a banned or removed asset is dropped from the indexes; a
  content change (title, description, tags, category) re-indexes it; an asset
  made visible again (unbanned) that is missing from the index is re-indexed.
- ``asset.deleted``: dropped from the indexes.

Handlers are idempotent (re-indexing and deleting twice give the same state),
as at-least-once delivery requires. A seller ban needs no event: search
checks the seller's ban in the catalog at query time.

Example:
    >>> handle = index_event_handler(platform.db, indexer)  # doctest: +SKIP
    >>> handle(Event(Topics.ASSET_DELETED, {"asset_id": "a1"}))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from agora.bus.base import Event, Topics
from agora.catalog.views import asset_view
from agora.domain import AssetStatus
from agora.storage.tables import AssetRow

if TYPE_CHECKING:
    from agora.search.indexer import AssetIndexer
    from agora.storage.database import Database

log = logging.getLogger("agora.search.consumer")
INDEX_GROUP = "search-index"
INDEX_TOPICS = (Topics.ASSET_UPDATED, Topics.ASSET_DELETED)
GONE = frozenset({AssetStatus.BANNED.value, AssetStatus.REMOVED.value})


def index_event_handler(db: Database, indexer: AssetIndexer) -> Callable[[Event], None]:
    """Bus handler for ``asset.updated`` and ``asset.deleted``: reads the asset from
    the catalog ``db`` and updates the indexes through ``indexer``."""

    def handle(event: Event) -> None:
        asset_id = str(event.payload["asset_id"])
        with db.session() as s:
            row = s.get(AssetRow, asset_id)
            asset = asset_view(row) if row is not None else None
        if event.topic == Topics.ASSET_DELETED or asset is None or asset["status"] in GONE:
            indexer.remove([asset_id])
            log.info("asset %s removed from the search indexes", asset_id)
        elif event.payload.get("content_changed") or not indexer.is_indexed(asset_id):
            indexer.index(asset)
            log.info("asset %s re-indexed", asset_id)

    return handle
