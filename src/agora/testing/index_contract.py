"""Contract suites every ``VectorIndex`` and ``KeywordIndex`` backend passes (pytest mixins).

A backend's test class inherits a suite and implements ``make_index(name)``;
calling it twice with one name must open the SAME stored index (same
directory, same table), which is how persistence across a reopen is checked.

Example:
    class TestHnsw(VectorIndexContract):
        @pytest.fixture(autouse=True)
        def _dir(self, tmp_path):
            self.root = tmp_path

        def make_index(self, name):
            return HnswIndex(self.root / name, name, exact_below=50)
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from agora.encoders.base import EncoderMismatch
from agora.errors import InvalidInput
from agora.index.base import KeywordDoc, KeywordIndex, VectorIndex
from agora.index.vectors import exact_cosine

ENC = "minilm@test"
OTHER = "e5@test"


def clustered(n: int, dim: int = 32, clusters: int = 20, seed: int = 0) -> np.ndarray:
    """Points around a few centres (real embeddings are clustered, uniform noise is not)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    points = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))
    return np.asarray(points / np.linalg.norm(points, axis=1, keepdims=True), dtype=np.float32)


class _Opened:
    _opened: list[VectorIndex | KeywordIndex]

    @pytest.fixture(autouse=True)
    def _close_indexes(self) -> Iterator[None]:
        self._opened = []
        yield
        for index in self._opened:
            index.close()

    def unique_name(self) -> str:
        return f"t{uuid.uuid4().hex[:10]}"


class VectorIndexContract(_Opened):
    """Mixin: subclasses implement ``make_index(name)`` (with a small exact-search
    threshold, about 50, so both filtered-search strategies run)."""

    def make_index(self, name: str) -> VectorIndex:
        raise NotImplementedError

    def open(self, name: str | None = None) -> VectorIndex:
        index = self.make_index(name or self.unique_name())
        self._opened.append(index)
        return index

    def test_empty_index(self) -> None:
        index = self.open()
        assert len(index) == 0 and index.encoder is None
        assert index.search(clustered(2), 5, encoder=ENC) == [[], []]
        assert index.get(["nope"]) == {}
        index.delete(["nope"])

    def test_add_search_get(self) -> None:
        index = self.open()
        vectors = clustered(200)
        ids = [f"a{i}" for i in range(200)]
        index.add(ids, vectors, encoder=ENC)
        assert len(index) == 200 and index.encoder == ENC
        hits = index.search(vectors[:3], 5, encoder=ENC)
        assert [h[0].id for h in hits] == ids[:3]
        assert all(abs(h[0].score - 1.0) < 1e-3 for h in hits)
        assert all(len(h) == 5 for h in hits)
        assert all(a.score >= b.score for h in hits for a, b in itertools.pairwise(h))
        got = index.get(["a7", "nope"])
        assert set(got) == {"a7"}
        np.testing.assert_allclose(got["a7"], vectors[7], atol=1e-3)

    def test_upsert_replaces(self) -> None:
        index = self.open()
        vectors = clustered(50)
        index.add([f"a{i}" for i in range(50)], vectors, encoder=ENC)
        index.add(["a0"], vectors[1:2] * -1, encoder=ENC)
        assert len(index) == 50
        np.testing.assert_allclose(index.get(["a0"])["a0"], -vectors[1], atol=1e-3)
        assert index.search(-vectors[1:2], 1, encoder=ENC)[0][0].id == "a0"

    def test_delete(self) -> None:
        index = self.open()
        vectors = clustered(60)
        index.add([f"a{i}" for i in range(60)], vectors, encoder=ENC)
        index.delete(["a0", "a1", "unknown"])
        assert len(index) == 58
        hits = index.search(vectors[:2], 10, encoder=ENC)
        assert all(h.id not in {"a0", "a1"} for row in hits for h in row)
        assert index.get(["a0"]) == {}
        index.add(["a0"], vectors[:1], encoder=ENC)  # re-adding a deleted id works
        assert index.search(vectors[:1], 1, encoder=ENC)[0][0].id == "a0"

    def test_persistence_across_reopen(self) -> None:
        name = self.unique_name()
        vectors = clustered(120)
        first = self.make_index(name)
        first.add([f"a{i}" for i in range(120)], vectors, encoder=ENC)
        first.delete(["a5"])
        first.add(["a6"], vectors[7:8], encoder=ENC)
        before = first.search(vectors[:4], 5, encoder=ENC)
        first.close()
        again = self.open(name)
        assert len(again) == 119 and again.encoder == ENC
        assert [[h.id for h in r] for r in again.search(vectors[:4], 5, encoder=ENC)] == [
            [h.id for h in r] for r in before
        ]
        assert "a5" not in again.get(["a5"])
        np.testing.assert_allclose(again.get(["a6"])["a6"], vectors[7], atol=1e-3)

    def test_encoder_mismatch_refused(self) -> None:
        index = self.open()
        index.add(["a"], clustered(1), encoder=ENC)
        with pytest.raises(EncoderMismatch):
            index.add(["b"], clustered(1, seed=1), encoder=OTHER)
        with pytest.raises(EncoderMismatch):
            index.search(clustered(1), 3, encoder=OTHER)
        assert len(index) == 1 and index.encoder == ENC

    def test_bad_input(self) -> None:
        index = self.open()
        index.add(["a"], clustered(1), encoder=ENC)
        with pytest.raises(InvalidInput):
            index.add(["b"], np.ones((1, 5), np.float32), encoder=ENC)  # wrong dimension
        with pytest.raises(InvalidInput):
            index.add(["b"], np.full((1, 32), np.nan, np.float32), encoder=ENC)
        with pytest.raises(InvalidInput):
            index.add(["b", "c"], clustered(1), encoder=ENC)
        with pytest.raises(InvalidInput):
            index.add(["b", "b"], clustered(2), encoder=ENC)
        with pytest.raises(InvalidInput):
            index.search(np.ones((1, 3), np.float32), 3, encoder=ENC)
        assert len(index) == 1

    def test_allowed_filter(self) -> None:
        index = self.open()
        vectors = clustered(400)
        ids = [f"a{i}" for i in range(400)]
        index.add(ids, vectors, encoder=ENC)
        # Small: searched exactly. Large: a filtered graph search, approximate by
        # nature (the graph's shape depends on insertion threads): 4 of 5 at least.
        for allowed, least in (([*ids[::40], "unknown"], 5), (ids[::3], 4)):
            hits = index.search(vectors[:5], 5, encoder=ENC, allowed=allowed)
            rows = [ids.index(i) for i in allowed if i in ids]
            truth, _ = exact_cosine(vectors[:5], vectors[rows], 5)
            for row_hits, row_truth in zip(hits, truth, strict=True):
                assert len(row_hits) == 5
                assert {h.id for h in row_hits} <= set(allowed)
                found = {h.id for h in row_hits} & {ids[rows[t]] for t in row_truth}
                assert len(found) >= least
        assert index.search(vectors[:2], 5, encoder=ENC, allowed=[]) == [[], []]

    def test_recall_on_structured_data(self) -> None:
        index = self.open()
        vectors = clustered(3000, dim=48, clusters=60)
        index.add([str(i) for i in range(3000)], vectors, encoder=ENC)
        queries = clustered(40, dim=48, clusters=60, seed=9)
        truth, _ = exact_cosine(queries, vectors, 10)
        hits = index.search(queries, 10, encoder=ENC)
        recall = np.mean(
            [
                len({int(h.id) for h in row} & set(t.tolist())) / 10
                for row, t in zip(hits, truth, strict=True)
            ]
        )
        assert recall >= 0.9, recall

    def test_concurrent_readers_and_a_writer(self) -> None:
        index = self.open()
        vectors = clustered(600)
        index.add([f"a{i}" for i in range(300)], vectors[:300], encoder=ENC)
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for n in range(30):
                    hits = index.search(vectors[n : n + 1], 5, encoder=ENC)
                    assert len(hits[0]) == 5 and hits[0][0].id.startswith("a")
            except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
                errors.append(exc)

        def write() -> None:
            try:
                for start in range(300, 600, 50):
                    ids = [f"a{i}" for i in range(start, start + 50)]
                    index.add(ids, vectors[start : start + 50], encoder=ENC)
            except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(4)]
        threads.append(threading.Thread(target=write))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(index) == 600


class KeywordIndexContract(_Opened):
    """Mixin: subclasses implement ``make_index(name)``."""

    def make_index(self, name: str) -> KeywordIndex:
        raise NotImplementedError

    def open(self, name: str | None = None) -> KeywordIndex:
        index = self.make_index(name or self.unique_name())
        self._opened.append(index)
        return index

    def docs(self) -> list[KeywordDoc]:
        return [
            KeywordDoc("car", {"title": "Red sports car", "description": "A fast racing vehicle."}),
            KeywordDoc(
                "tank", {"title": "Army tank", "description": "Tracked armoured vehicle, green."}
            ),
            KeywordDoc(
                "cards",
                {"title": "Playing cards", "description": "A deck of cards", "tags": "casino"},
            ),
            KeywordDoc(
                "coin", {"title": "Gold coin", "description": "Shiny coin for a platformer"}
            ),
            KeywordDoc(
                "garage",
                {"title": "Garage", "description": "Where a red car is parked", "tags": ""},
            ),
        ]

    def test_empty_index(self) -> None:
        index = self.open()
        assert len(index) == 0
        assert index.search("anything", 5) == []
        index.delete(["nope"])

    def test_search_stems_ranks_and_highlights(self) -> None:
        index = self.open()
        index.add(self.docs())
        assert len(index) == 5
        hits = index.search("cars", 5)
        # Stemming matches "car"; the title match ranks above the description match.
        assert [h.id for h in hits] == ["car", "garage"]
        assert hits[0].score > hits[1].score > 0
        assert "<mark>car</mark>" in hits[0].highlights["title"]
        assert "<mark>car</mark>" in hits[1].highlights["description"]
        assert "title" not in hits[1].highlights
        tagged = index.search("casino", 5)
        assert [h.id for h in tagged] == ["cards"] and "tags" in tagged[0].highlights

    def test_upsert_replaces(self) -> None:
        index = self.open()
        index.add(self.docs())
        index.add([KeywordDoc("car", {"title": "Blue bicycle", "description": "Two wheels"})])
        assert len(index) == 5
        assert [h.id for h in index.search("bicycle", 5)] == ["car"]
        assert [h.id for h in index.search("sports", 5)] == []

    def test_delete(self) -> None:
        index = self.open()
        index.add(self.docs())
        index.delete(["car", "unknown"])
        assert len(index) == 4
        assert [h.id for h in index.search("car", 5)] == ["garage"]
        index.add([self.docs()[0]])
        assert {h.id for h in index.search("car", 5)} == {"car", "garage"}

    def test_persistence_across_reopen(self) -> None:
        name = self.unique_name()
        first = self.make_index(name)
        first.add(self.docs())
        first.delete(["coin"])
        before = [(h.id, round(h.score, 5)) for h in first.search("vehicle", 5)]
        first.close()
        again = self.open(name)
        assert len(again) == 4
        assert [(h.id, round(h.score, 5)) for h in again.search("vehicle", 5)] == before
        assert again.search("coin", 5) == []

    def test_allowed_filter(self) -> None:
        index = self.open()
        index.add(self.docs())
        hits = index.search("vehicle", 5, allowed={"tank", "coin", "unknown"})
        assert [h.id for h in hits] == ["tank"]
        assert index.search("vehicle", 5, allowed=[]) == []

    def test_unusual_queries(self) -> None:
        index = self.open()
        index.add(self.docs())
        for query in [
            "",
            "   ",
            "!!!",
            '"unterminated',
            "the of and",
            "car -red",
            "a\x00b",
            "x" * 5000,
        ]:
            assert isinstance(index.search(query, 5), list)
        assert index.search("car", 0) == []
        with pytest.raises(InvalidInput):
            index.search("car", -1)
        with pytest.raises(InvalidInput):
            index.add([KeywordDoc("", {"title": "no id"})])

    def test_recall_on_structured_data(self) -> None:
        """Documents about 20 topics: a topic's word retrieves its documents, titles first."""
        topics = [
            "dragon", "castle", "rocket", "pirate", "zombie", "robot", "forest", "desert",
            "ocean", "knight", "wizard", "spaceship", "racing", "puzzle", "farm", "ninja",
            "dungeon", "island", "volcano", "tower",
        ]  # fmt: skip
        docs = []
        for n in range(400):
            topic, other = topics[n % 20], topics[(n * 7 + 3) % 20]
            title = f"{topic} pack {n}" if n % 2 else f"asset pack {n}"
            docs.append(
                KeywordDoc(f"d{n}", {"title": title, "description": f"{topic} themed {other}"})
            )
        index = self.open()
        index.add(docs)
        for topic in topics[:5]:
            hits = index.search(topic, 40)
            about = {d.id for d in docs if topic in d.fields["description"].split()[0]}
            assert about <= {h.id for h in hits}
            titled = {d.id for d in docs if d.fields["title"].startswith(topic)}
            assert {h.id for h in hits[: len(titled)]} == titled

    def test_concurrent_readers_and_a_writer(self) -> None:
        index = self.open()
        index.add(self.docs())
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for _ in range(20):
                    assert index.search("car", 5)[0].id == "car"
            except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
                errors.append(exc)

        def write() -> None:
            try:
                for n in range(10):
                    index.add([KeywordDoc(f"x{n}", {"title": f"tank number {n}"})])
            except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(4)]
        threads.append(threading.Thread(target=write))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(index) == 15
