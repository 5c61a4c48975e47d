"""Online store contract on the embedded memory-mapped store and on real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.features.base import Entity, Feature, FeatureView, ValueType
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

    def test_record_of_an_older_schema_reads_as_missing(self) -> None:
        item = Entity("item", "item_id")
        old = [Feature("a", ValueType.FLOAT), Feature("b", ValueType.STRING)]
        store = self.make_store(FeatureRegistry([FeatureView("items", item, old)]))
        store.write("item", ["i1"], {"a": [1.5], "b": ["x"]}, 1_700_000_000.0)
        store.close()
        new = [Feature("b", ValueType.STRING, "-"), Feature("a", ValueType.FLOAT, 0.0)]
        store = self.make_store(FeatureRegistry([FeatureView("items", item, new)]))
        assert store.read("item", ["i1"], ["a", "b"]).tolist() == [[0.0, "-"]]
        store.write("item", ["i1"], {"a": [2.0]}, 1_700_000_001.0)  # starts a fresh record
        assert store.read("item", ["i1"], ["a", "b"]).tolist() == [[2.0, "-"]]
        store.close()
