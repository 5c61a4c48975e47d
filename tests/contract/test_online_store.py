"""Online store contract on the embedded memory-mapped store and on real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.features.embedded import EmbeddedOnlineStore
from agora.features.redis_store import RedisOnlineStore
from agora.features.registry import FeatureRegistry
from agora.testing.online_store_contract import OnlineStoreContract


class TestEmbeddedOnlineStore(OnlineStoreContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "online"

    def make_store(self, registry: FeatureRegistry) -> EmbeddedOnlineStore:
        return EmbeddedOnlineStore(self.folder, registry)


@pytest.mark.integration
class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture(autouse=True)
    def _url(self, redis_url: str) -> None:
        self.url = redis_url

    def make_store(self, registry: FeatureRegistry) -> RedisOnlineStore:
        return RedisOnlineStore(self.url, registry)
