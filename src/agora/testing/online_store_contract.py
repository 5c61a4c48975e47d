"""The contract every ``OnlineStore`` backend passes (a pytest mixin).

A backend's test class inherits ``OnlineStoreContract`` and implements
``make_store(registry)``; calling it twice must open the SAME data (same folder,
same Redis prefix): that is how durability and several readers are checked.

Example:
    class TestEmbedded(OnlineStoreContract):
        def make_store(self, registry):
            return EmbeddedOnlineStore(self.tmp / "online", registry)
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from agora.errors import InvalidInput, NotFound
from agora.features.base import OnlineStore
from agora.features.definitions import standard_registry
from agora.features.registry import FeatureRegistry

T0 = 1_700_000_000.0


class OnlineStoreContract:
    """Mixin: subclasses implement ``make_store(registry)``."""

    _stores: list[OnlineStore]

    def make_store(self, registry: FeatureRegistry) -> OnlineStore:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _close_stores(self) -> Iterator[None]:
        self._stores = []
        yield
        for store in self._stores:
            store.close()

    def open(self) -> OnlineStore:
        store = self.make_store(standard_registry())
        self._stores.append(store)
        return store

    def test_round_trip_and_defaults(self) -> None:
        s = self.open()
        s.write("asset", ["a1", "a2"], {"price": [10.0, 20.5], "views_1h": [3, 4]}, T0)
        m = s.read("asset", ["a2", "nope", "a1"], ["price", "views_1h", "clicks_1h"], now=T0)
        assert m.dtype == np.float64 and m.shape == (3, 3)
        assert m[0, :2].tolist() == [20.5, 4.0]
        assert math.isnan(m[1, 0]) and m[1, 1] == 0.0  # unknown id: defaults
        assert m[2, :2].tolist() == [10.0, 3.0] and m[2, 2] == 0.0  # unwritten cell: default

    def test_strings_give_object_matrix(self) -> None:
        s = self.open()
        s.write("asset", ["a1"], {"category": ["3d/models"], "price": [1.0]}, T0)
        m = s.read("asset", ["a1", "x"], ["category", "price"], now=T0)
        assert m.dtype == object
        assert m[0].tolist() == ["3d/models", 1.0] and m[1, 0] == ""

    def test_ttl_expiry_serves_default(self) -> None:
        s = self.open()  # asset_realtime TTL is one day
        s.write("asset", ["a1"], {"views_1h": [7]}, T0)
        assert s.read("asset", ["a1"], ["views_1h"], now=T0 + 86_399)[0, 0] == 7
        assert s.read("asset", ["a1"], ["views_1h"], now=T0 + 86_401)[0, 0] == 0

    def test_older_write_is_ignored_newest_in_batch_wins(self) -> None:
        s = self.open()
        s.write("user", ["u1"], {"lifetime_spend": [50.0]}, T0 + 10)
        s.write("user", ["u1"], {"lifetime_spend": [1.0]}, T0)  # late replay
        assert s.read("user", ["u1"], ["lifetime_spend"], now=T0 + 10)[0, 0] == 50.0
        s.write("user", ["u1", "u1"], {"lifetime_spend": [99.0, 60.0]}, [T0 + 30, T0 + 20])
        assert s.read("user", ["u1"], ["lifetime_spend"], now=T0 + 30)[0, 0] == 99.0

    def test_partial_writes_keep_other_features(self) -> None:
        s = self.open()
        s.write("asset", ["a1"], {"price": [5.0], "category": ["art"]}, T0)
        s.write("asset", ["a1"], {"price": [6.0]}, T0 + 1)
        assert s.read("asset", ["a1"], ["price", "category"], now=T0 + 1)[0].tolist() == [
            6.0,
            "art",
        ]

    def test_cells_keep_their_own_time_across_views(self) -> None:
        s = self.open()  # user_batch: TTL 2 days; user_realtime: TTL 1 day
        s.write(
            "user",
            ["u1", "u2"],
            {"age_group": ["25-34", ""], "top_categories_30d": ["art,3d", "ünï,çødé"]},
            T0,
        )
        later = {"top_categories_30d": ["music"], "current_search_query": ["lámpara 💡"]}
        s.write("user", ["u1"], later, T0 + 86_400)
        names = ["age_group", "top_categories_30d", "current_search_query", "lifetime_spend"]
        m = s.read("user", ["u1", "u2"], names, now=T0 + 86_500)
        assert m[0].tolist() == ["25-34", "music", "lámpara 💡", 0.0]
        assert m[1].tolist() == ["", "ünï,çødé", "", 0.0]
        m = s.read("user", ["u1", "u2"], names, now=T0 + 2 * 86_400 + 50)
        assert m[0].tolist() == ["", "music", "", 0.0]  # each cell expires on its own time
        assert m[1].tolist() == ["", "", "", 0.0]

    def test_durable_and_visible_to_another_reader(self) -> None:
        writer = self.open()
        reader = self.open()
        assert reader.read("seller", ["s1"], ["trust_score"], now=T0)[0, 0] == 0.5
        ids = [f"s{i}" for i in range(3000)]  # past any initial capacity
        writer.write("seller", ids, {"trust_score": np.linspace(0, 1, 3000)}, T0)
        got = reader.read("seller", ["s2999", "s0", "s1500"], ["trust_score"], now=T0)[:, 0]
        assert got.tolist() == pytest.approx([1.0, 0.0, 1500 / 2999])
        writer.close()
        again = self.open()
        assert again.read("seller", ["s2999"], ["trust_score"], now=T0)[0, 0] == 1.0

    def test_read_rows_are_json_friendly(self) -> None:
        s = self.open()
        s.write("seller", ["s1"], {"trust_score": [0.9], "verified": [True]}, T0)
        [row] = s.read_rows("seller", ["s1"], now=T0)
        assert row == {"trust_score": 0.9, "verified": True, "active_listings": 0}
        [row] = s.read_rows("seller", ["s1"], ["verified"], now=T0 + 3 * 86_400)
        assert row == {"verified": False}  # expired: the default, typed

    def test_delete_forgets(self) -> None:
        s = self.open()
        s.write("user", ["u1", "u2"], {"age_group": ["25-34", "35-44"]}, T0)
        s.delete("user", ["u1", "unknown"])
        assert s.read("user", ["u1", "u2"], ["age_group"], now=T0)[:, 0].tolist() == ["", "35-44"]

    def test_bad_input_is_rejected(self) -> None:
        s = self.open()
        with pytest.raises(NotFound):
            s.read("asset", ["a1"], ["no_such_feature"])
        with pytest.raises(NotFound):
            s.read("planet", ["p1"], ["price"])
        with pytest.raises(InvalidInput):
            s.write("asset", ["a1"], {"price": ["cheap"]}, T0)
        with pytest.raises(InvalidInput):
            s.write("asset", ["a1", "a2"], {"price": [1.0]}, T0)
        with pytest.raises(InvalidInput):
            s.write("asset", ["bad\nid"], {"price": [1.0]}, T0)
        with pytest.raises(InvalidInput):
            s.read("asset", ["a1"], ["is_boosted_now"])  # request-time, never stored

    def test_empty_reads(self) -> None:
        s = self.open()
        assert s.read("asset", [], ["price"], now=T0).shape == (0, 1)
        assert s.read("asset", ["a1"], ["price", "views_1h"], now=T0)[0, 1] == 0.0
