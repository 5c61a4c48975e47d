"""Without trained models, ranked search still answers the query (issue 18: a popular
slime above every tank for "tank"), and the popular fallback keeps its order."""

from __future__ import annotations

from typing import Any

from agora.config import RankingSettings
from agora.ranking.base import RankRequest
from agora.ranking.candidates import merge
from agora.ranking.catalog import CatalogSnapshot, SnapshotHolder
from agora.ranking.pipeline import RankingPipeline
from agora.search.base import SearchHit, SearchQuery, SearchResult


def _snapshot() -> CatalogSnapshot:
    # Two tanks nobody clicked yet and six much-clicked assets that are no tanks.
    assets = [{"id": f"tank{i}", "seller_id": f"s{i}", "category": "vehicles"} for i in range(2)]
    assets += [{"id": f"pop{i}", "seller_id": f"s{i + 2}", "category": "items"} for i in range(6)]
    sellers = [{"id": f"s{j}", "trust_score": 0.8, "verified": True} for j in range(8)]
    engagement = {f"pop{i}": (1000, 300, 80) for i in range(6)} | {
        f"tank{i}": (1000, 5, 0) for i in range(2)
    }
    return CatalogSnapshot.from_records(
        [a | {"status": "active", "price": 2.0} for a in assets],
        sellers=sellers,
        engagement=engagement,
    )


class TankSearch:
    """Search that finds the tanks by their words and the rest only by meaning."""

    def search(self, query: SearchQuery) -> SearchResult:
        hits = [SearchHit("tank0", 0.93), SearchHit("tank1", 0.87)]
        hits += [SearchHit(f"pop{i}", 0.29 - 0.01 * i) for i in range(6)]
        return SearchResult(hits, len(hits), "hybrid", 0, query.limit)


def _pipeline(**kw: Any) -> RankingPipeline:
    snap = _snapshot()
    return RankingPipeline(
        RankingSettings(deadline_ms=10_000, sponsored_slots=[]),
        SnapshotHolder(lambda: snap, refresh_s=1e9),
        **kw,
    )


def test_popularity_weights_keep_the_query_first() -> None:
    pipe = _pipeline(search=TankSearch())
    try:
        out = pipe.rank(RankRequest(user_id=None, query="tank", n=5))
        assert out.models["scorer"] == "popularity-prior@1"
        assert [i.asset_id for i in out.items[:2]] == ["tank0", "tank1"]
        # Among what does not match, popularity still decides.
        assert all(i.asset_id.startswith("pop") for i in out.items[2:])
        # Without the relevance term the popular assets win: the bug this guards.
        plain = _pipeline(search=TankSearch())
        plain.weights = type(plain.weights)(1.0, 2.0, 0.1, relevance=0.0)
        first = plain.rank(RankRequest(user_id=None, query="tank", n=5)).items[0]
        assert first.asset_id.startswith("pop")
        plain.close()
    finally:
        pipe.close()


def test_retrieval_relevance_is_the_search_score_relative_to_the_best() -> None:
    ids, score, source = merge(
        [["a", "b", "c"], ["c", "d"]], limit=10, scores=[[0.9, 0.45, 0.09], None]
    )
    assert ids == ["a", "b", "c", "d"] and source.tolist() == [0, 0, 0, 1]
    # c: 0.1 from search, 1 - 0/2 from the recommender list; an id keeps its best.
    assert score.round(3).tolist() == [1.0, 0.5, 1.0, 0.5]
