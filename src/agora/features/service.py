"""The feature store of one process: registry, online and offline stores, overrides.

``Platform.features`` builds one from settings. :meth:`FeatureStore.read` adds the
request-time asset feature ``is_boosted_now`` (from the overrides in force) to what the
online store holds, so a boost takes effect on the next read.

Example:
    >>> fs = FeatureStore.from_settings(settings)  # doctest: +SKIP
    >>> fs.read("asset", ["a1", "a2"], ["price", "ctr_last_hour"]).shape  # doctest: +SKIP
    (2, 2)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agora.config import Settings
from agora.features.base import OnlineStore, OverrideReader
from agora.features.definitions import standard_registry
from agora.features.embedded import EmbeddedOnlineStore
from agora.features.offline import OfflineStore
from agora.features.registry import FeatureRegistry
from agora.features.rows import check_ids, to_json_rows

MAX_READ_IDS = 10_000
BOOST_FEATURE = "is_boosted_now"


def create_online_store(settings: Settings, registry: FeatureRegistry) -> OnlineStore:
    """Embedded memory-mapped store by default; Redis for ``redis://`` URLs."""
    url = settings.features.online_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        from agora.features.redis_store import RedisOnlineStore

        return RedisOnlineStore(url, registry)
    root = Path(url.removeprefix("file://")) if url else settings.data_dir / "features" / "online"
    return EmbeddedOnlineStore(root, registry)


def offline_root(settings: Settings) -> Path:
    d = settings.features.offline_dir
    return Path(d) if d else settings.data_dir / "offline"


class FeatureStore:
    """Reads and writes features by entity; see the module doc."""

    def __init__(
        self,
        registry: FeatureRegistry,
        online: OnlineStore,
        offline: OfflineStore,
        overrides: OverrideReader | None = None,
    ) -> None:
        self.registry, self.online, self.offline = registry, online, offline
        self.overrides = overrides

    @classmethod
    def from_settings(
        cls, settings: Settings, overrides: OverrideReader | None = None
    ) -> FeatureStore:
        registry = standard_registry()
        return cls(
            registry,
            create_online_store(settings, registry),
            OfflineStore(offline_root(settings)),
            overrides,
        )

    def read(
        self,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str],
        *,
        now: float | None = None,
    ) -> np.ndarray:
        """The online matrix, with ``is_boosted_now`` computed from the overrides."""
        if entity != "asset" or BOOST_FEATURE not in features:
            return self.online.read(entity, ids, features, now=now)
        stored = [f for f in features if f != BOOST_FEATURE]
        # Category/seller boosts need the asset's category; it is a stored feature.
        extra = [] if "category" in stored else ["category"]
        m = self.online.read(entity, ids, [*stored, *extra], now=now)
        boosted = self._boosted(ids, list(m[:, [*stored, *extra].index("category")]))
        out = np.empty((len(ids), len(features)), dtype=m.dtype)
        k = 0
        for j, name in enumerate(features):
            if name == BOOST_FEATURE:
                out[:, j] = boosted
            else:
                out[:, j] = m[:, k]
                k += 1
        return out

    def _boosted(self, ids: Sequence[str], categories: list[Any]) -> np.ndarray:
        if self.overrides is None:
            return np.zeros(len(ids))
        snap = self.overrides.active_overrides()
        cats = [c or None for c in categories]
        sellers: list[str | None] | None = None
        # A seller boost needs each asset's seller, which no feature view holds: ask the
        # catalog, and only while a seller boost is in force (one query per read).
        sellers_of = getattr(self.overrides, "sellers_of", None)
        if snap.boosts.get("seller") and sellers_of is not None:
            sellers = sellers_of(ids)
        return np.asarray(snap.boost_factors(list(ids), sellers, cats) != 1.0, dtype=np.float64)

    def read_rows(
        self,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str] | None = None,
        *,
        now: float | None = None,
    ) -> list[dict[str, Any]]:
        """JSON rows (all of the entity's features, request-time ones included, by default)."""
        ids = check_ids(ids)
        names = list(features) if features is not None else self.registry.features_of(entity)
        if features is None and entity == "asset":
            names.append(BOOST_FEATURE)
        matrix = self.read(entity, ids, names, now=now if now is not None else time.time())
        return to_json_rows(self.registry, entity, names, matrix)

    def close(self) -> None:
        self.online.close()
