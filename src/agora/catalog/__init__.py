"""Catalog capability: assets, sellers, users and interaction events.

The services are imported on first use (PEP 562), so importing the input
schemas (``agora.catalog.schemas``, shared with the API and the SDK) does not
load the database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.lazy import lazy_exports

if TYPE_CHECKING:
    from agora.catalog.assets import AssetService, CreatedAsset
    from agora.catalog.events import EventIngest
    from agora.catalog.imports import AssetImport, JsonLinesReader
    from agora.catalog.people import PeopleService
    from agora.catalog.uploads import Upload

__all__ = [
    "AssetImport",
    "AssetService",
    "CreatedAsset",
    "EventIngest",
    "JsonLinesReader",
    "PeopleService",
    "Upload",
]
_HOMES = {
    "AssetImport": "agora.catalog.imports",
    "JsonLinesReader": "agora.catalog.imports",
    "AssetService": "agora.catalog.assets",
    "CreatedAsset": "agora.catalog.assets",
    "EventIngest": "agora.catalog.events",
    "PeopleService": "agora.catalog.people",
    "Upload": "agora.catalog.uploads",
}


__getattr__ = lazy_exports(__name__, _HOMES)
