"""Feature store: definitions as code, online/offline stores, stream aggregation, overrides.

Example:
    >>> from agora.features import standard_registry
    >>> "asset_realtime" in standard_registry().views
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.lazy import lazy_exports

if TYPE_CHECKING:
    from agora.features.base import (
        AFFINITY_ENTITY,
        AFFINITY_FEATURE,
        ActiveOverrides,
        Entity,
        Feature,
        FeatureView,
        OnlineStore,
        Override,
        OverrideAction,
        OverrideReader,
        OverrideTarget,
        ValueType,
        affinity_key,
        decayed_affinity,
    )
    from agora.features.definitions import standard_registry
    from agora.features.offline import CREATED_TS, EVENT_TS, OfflineStore, ViewSpec
    from agora.features.registry import FeatureRegistry

__all__ = [
    "AFFINITY_ENTITY",
    "AFFINITY_FEATURE",
    "CREATED_TS",
    "EVENT_TS",
    "ActiveOverrides",
    "Entity",
    "Feature",
    "FeatureRegistry",
    "FeatureView",
    "OfflineStore",
    "OnlineStore",
    "Override",
    "OverrideAction",
    "OverrideReader",
    "OverrideTarget",
    "ValueType",
    "ViewSpec",
    "affinity_key",
    "decayed_affinity",
    "standard_registry",
]
_HOMES = {
    "AFFINITY_ENTITY": "agora.features.base",
    "AFFINITY_FEATURE": "agora.features.base",
    "ActiveOverrides": "agora.features.base",
    "CREATED_TS": "agora.features.offline",
    "EVENT_TS": "agora.features.offline",
    "Entity": "agora.features.base",
    "Feature": "agora.features.base",
    "FeatureRegistry": "agora.features.registry",
    "FeatureView": "agora.features.base",
    "OfflineStore": "agora.features.offline",
    "OnlineStore": "agora.features.base",
    "Override": "agora.features.base",
    "OverrideAction": "agora.features.base",
    "OverrideReader": "agora.features.base",
    "OverrideTarget": "agora.features.base",
    "ValueType": "agora.features.base",
    "ViewSpec": "agora.features.offline",
    "affinity_key": "agora.features.base",
    "decayed_affinity": "agora.features.base",
    "standard_registry": "agora.features.definitions",
}

__getattr__ = lazy_exports(__name__, _HOMES)
