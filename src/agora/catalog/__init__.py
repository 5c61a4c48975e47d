"""Catalog capability: assets, sellers, users and interaction events."""

from agora.catalog.assets import AssetService, CreatedAsset
from agora.catalog.events import EventIngest
from agora.catalog.people import PeopleService
from agora.catalog.uploads import Upload

__all__ = ["AssetService", "CreatedAsset", "EventIngest", "PeopleService", "Upload"]
