"""Feature store: definitions as code, online/offline stores, stream aggregation, overrides.

Example:
    >>> from agora.features import standard_registry
    >>> "asset_realtime" in standard_registry().views
    True
"""

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
