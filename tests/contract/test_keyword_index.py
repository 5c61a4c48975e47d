"""The keyword index contract on embedded bm25s and on PostgreSQL full-text."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from agora.config import Settings
from agora.index import Bm25Index, KeywordDoc, PgFullTextIndex, open_keyword_index
from agora.index.analysis import AnalyserName
from agora.index.base import KeywordIndex
from agora.testing.index_contract import KeywordIndexContract

PIPE = KeywordDoc("pipe", {"title": "1/2 in. x 10 ft. Copper Pipe"}, language="en")


def _analysers_meet(make: Callable[[AnalyserName], KeywordIndex]) -> None:
    """Built with ``standard``, reopened with ``product``: re-analysed, never mismatched."""
    old = make("standard")
    old.add([PIPE])
    assert old.search("0.5 inch", 5) == []  # the standard analyser cannot
    old.close()
    new = make("product")
    assert getattr(new, "reanalysed", None) == 1
    assert [h.id for h in new.search("0.5 inch", 5)] == ["pipe"]
    new.close()
    again = make("product")  # recorded now: nothing to redo
    assert getattr(again, "reanalysed", None) == 0
    again.close()


def test_bm25_index_built_with_another_analyser_is_reanalysed(tmp_path: Path) -> None:
    _analysers_meet(lambda a: Bm25Index(tmp_path / "kw", "kw", analyser=a))


def test_a_legacy_bm25_index_counts_as_the_standard_analyser(tmp_path: Path) -> None:
    old = Bm25Index(tmp_path / "kw", "kw")
    old.add([PIPE])
    old._store._conn.execute("DELETE FROM labels")  # as written before versions existed
    old.close()
    new = Bm25Index(tmp_path / "kw", "kw", analyser="product")
    assert new.reanalysed == 1 and new.analyser == "product-1"
    assert [h.id for h in new.search("0.5 in", 5)] == ["pipe"]
    new.close()


@pytest.mark.integration
def test_pg_index_built_with_another_analyser_is_reanalysed(pg_url: str) -> None:
    name = f"analyser_{uuid.uuid4().hex[:8]}"
    _analysers_meet(lambda a: PgFullTextIndex(pg_url, name, analyser=a))


class TestBm25Index(KeywordIndexContract):
    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.root = tmp_path

    def make_index(self, name: str) -> KeywordIndex:
        return Bm25Index(self.root / name, name)

    def test_delta_scores_match_a_full_rebuild(self) -> None:
        """Delta documents are scored on the main index's scale."""
        index = Bm25Index(self.root / "delta", "delta", min_delta=1000)
        self._opened.append(index)
        index.add(self.docs()[:3])
        index.search("car", 1)  # builds the main index
        index.add(self.docs()[3:])  # stays in the delta
        delta = {h.id: h.score for h in index.search("red car", 5)}
        index.optimize()
        rebuilt = {h.id: h.score for h in index.search("red car", 5)}
        assert delta.keys() == rebuilt.keys()
        assert delta["garage"] == pytest.approx(rebuilt["garage"], rel=0.25)

    def test_background_rebuild_when_delta_grows(self) -> None:
        index = Bm25Index(self.root / "bg", "bg", min_delta=5, sync_rebuild_below=10)
        self._opened.append(index)
        index.add([KeywordDoc(f"a{n}", {"title": f"tank {n}"}) for n in range(12)])
        index.search("tank", 1)  # first build is synchronous
        index.add([KeywordDoc(f"b{n}", {"title": f"car {n}"}) for n in range(8)])
        assert len(index.search("car", 20)) == 8  # delta answers while the rebuild runs
        assert index._builder is not None
        index._builder.join()
        assert index.last_rebuild_s is not None
        assert len(index.search("car", 20)) == 8 and len(index.search("tank", 20)) == 12

    def test_language_aware_stemming(self) -> None:
        index = self.open()
        index.add([KeywordDoc("de", {"title": "Rote Autos und Häuser"}, language="de")])
        assert [h.id for h in index.search("rotes Haus", 5, language="de")] == ["de"]
        assert [h.id for h in index.search("Häuser", 5)] == ["de"]

    def test_second_handle_sees_writes(self) -> None:
        """Another process sharing the directory follows the store."""
        writer = self.open("shared")
        reader = Bm25Index(self.root / "shared", "shared", refresh_interval_s=0)
        self._opened.append(reader)
        writer.add(self.docs())
        assert [h.id for h in reader.search("tank", 5)] == ["tank"]
        writer.delete(["tank"])
        writer.optimize()
        assert reader.search("tank", 5) == []


@pytest.mark.integration
class TestPgFullTextIndex(KeywordIndexContract):
    """On the plain PostgreSQL server (no extension needed)."""

    @pytest.fixture(autouse=True)
    def _server(self, pg_url: str) -> None:
        self.url = pg_url

    def make_index(self, name: str) -> KeywordIndex:
        return PgFullTextIndex(self.url, name)


def test_factory_chooses_backend_by_url(tmp_path: Path) -> None:
    index = open_keyword_index(Settings(data_dir=tmp_path), "assets")
    assert isinstance(index, Bm25Index)
    assert index.directory == tmp_path.absolute() / "index" / "keyword" / "assets"
    index.close()


@pytest.mark.integration
def test_factory_opens_full_text_for_a_postgres_url(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, search={"keyword_url": pg_url})
    index = open_keyword_index(settings, "factory_check")
    assert isinstance(index, PgFullTextIndex)
    index.add([KeywordDoc("a", {"title": "Rote Häuser"}, language="de")])
    assert [h.id for h in index.search("Haus", 5, language="de")] == ["a"]
    index.close()
