"""Feature store: offline Parquet views with point-in-time-correct training sets."""

from agora.features.offline import CREATED_TS, EVENT_TS, OfflineStore, ViewSpec

__all__ = ["CREATED_TS", "EVENT_TS", "OfflineStore", "ViewSpec"]
