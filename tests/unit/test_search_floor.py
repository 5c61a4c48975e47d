"""Relevance floors: per retriever, stricter for queries with no word in the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.config import SearchSettings, Settings
from agora.encoders import Encoders
from agora.index import Bm25Index, KeywordDoc
from agora.search.backends import SearchBackends
from agora.search.retrievers import Floors, floored, floored_images, relevance_floors
from agora.search.text_query import keyword_evidence


def test_rows_below_the_floor_are_not_hits_and_end_the_list():
    rows = [("a", 0.7), ("b", 0.5), ("c", 0.2)]
    assert floored(rows, asked=3, floor=None).ranked == rows
    assert not floored(rows, asked=3, floor=None).exhausted  # as many as asked: maybe more
    cut = floored(rows, asked=3, floor=0.4)
    assert cut.ranked == rows[:2] and cut.exhausted  # deeper rows score lower still
    assert floored(rows[:2], asked=3, floor=None).exhausted  # fewer than asked
    images = floored_images([[("a#0", 0.9), ("b#1", 0.6), ("a#1", 0.5)]], asked=3, floor=0.55)
    assert images.ranked == [("a", 0.9), ("b", 0.6)]


def test_floors_default_per_profile_and_settings_override_them():
    floors = relevance_floors(SearchSettings())
    assert floors.get("text") == 0.09 and floors.get("text", evidence=False) == 0.48
    assert floors.get("keyword") is None and floors.get("image", evidence=False) is None
    assert relevance_floors(SearchSettings(text_profile="e5")).get("text") is None
    own = relevance_floors(SearchSettings(relevance_floor={"text": 0.2}, unmatched_floor={}))
    assert own.get("text") == 0.2 and own.get("text", evidence=False) == 0.2  # falls back
    assert Floors({}, {"conse": 0.5}).get("conse", evidence=False) == 0.5


def test_keyword_evidence_names_the_words_the_catalog_lacks(tmp_path: Path):
    index = Bm25Index(tmp_path / "kw", "assets")
    index.add([KeywordDoc("a", {"title": "Red battle tanks", "tags": "vehicle"}, "en")])
    assert index.word_presence("the red tnak") == {"red": True, "tnak": False}
    assert index.word_presence("Tank") == {"Tank": True}  # stemmed like the documents
    index.close()

    settings = Settings.load(data_dir=tmp_path / "agora")
    backends = SearchBackends(settings, Encoders())
    backends.keyword().add([KeywordDoc("a", {"title": "Red battle tanks"}, "en")])
    assert keyword_evidence(backends, "red tnak", "en") == (True, ["tnak"])
    assert keyword_evidence(backends, "zzzqqqxx", "en") == (False, ["zzzqqqxx"])
    assert keyword_evidence(backends, "the of", "en") == (False, [])  # stopwords only
    backends.close()


@pytest.mark.integration
def test_keyword_evidence_on_postgres_full_text(tmp_path: Path, pg_url: str):
    settings = Settings.load(data_dir=tmp_path / "agora", search={"keyword_url": pg_url})
    backends = SearchBackends(settings, Encoders())
    backends.keyword().add([KeywordDoc("a", {"title": "Red battle tanks"}, "en")])
    # Any word counts (PostgreSQL would AND bare words); the words it lacks are unknown.
    assert keyword_evidence(backends, "red tnak", "en") == (True, None)
    assert keyword_evidence(backends, "zzzqqqxx", "en") == (False, None)
    backends.close()
