"""Ranking pipeline: stages, failure modes, diversity, sponsored slots, SHAP additivity."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agora.config import RankingSettings
from agora.features.base import ActiveOverrides
from agora.features.definitions import standard_registry
from agora.features.embedded import EmbeddedOnlineStore
from agora.ranking.base import (
    FALLBACK_FEATURES_SLOW,
    FALLBACK_NO_MODEL,
    FALLBACK_REGION_POPULAR,
    FALLBACK_TRENDING,
    RankRequest,
)
from agora.ranking.catalog import CatalogSnapshot, SnapshotHolder
from agora.ranking.explain import Explainer
from agora.ranking.hydration import FEATURES
from agora.ranking.models import CtrModel
from agora.ranking.pipeline import RankingPipeline
from agora.ranking.rerank import diversify, inject_sponsored
from agora.ranking.scoring import Scorer
from agora.search.base import FALLBACK_VECTOR_DOWN, SearchHit, SearchQuery, SearchResult

N_ASSETS = 300


def _snapshot() -> CatalogSnapshot:
    rng = np.random.default_rng(3)
    assets = []
    for i in range(N_ASSETS):
        assets.append(
            {
                "id": f"a{i}",
                "seller_id": f"s{i % 12}",
                "category": ["art", "3d", "audio"][i % 3],
                "status": "inactive" if i == 5 else "active",
                "stock": 0 if i == 6 else None,
                "price": float(rng.uniform(1, 50)),
                "geo_lat": 48.0 if i != 7 else -33.9,  # a7 is in Cape Town
                "geo_lon": 11.0 if i != 7 else 18.4,
                "attributes": {"sponsored_bid": 2.0} if i in (20, 21) else {},
            }
        )
    sellers = [{"id": f"s{j}", "trust_score": 0.6, "verified": j % 2 == 0, "banned": j == 11}
               for j in range(12)]  # fmt: skip
    eng = {
        f"a{i}": (100, int(rng.integers(0, 20)), int(rng.integers(0, 3))) for i in range(N_ASSETS)
    }
    return CatalogSnapshot.from_records(assets, sellers=sellers, engagement=eng)


class CatalogSearch:
    """A test double of the search service over the snapshot: every asset matches,
    equally well (so the models alone order them)."""

    def __init__(self, snap: CatalogSnapshot, *, fail: bool = False, vector_down: bool = False):
        self.snap, self.fail, self.vector_down = snap, fail, vector_down

    def search(self, query: SearchQuery) -> SearchResult:
        if self.fail:
            raise ConnectionError("index unreachable")
        hits = [SearchHit(id=a, score=1.0) for a in self.snap.ids[: query.limit]]
        fallbacks = [FALLBACK_VECTOR_DOWN] if self.vector_down else []
        models = (
            {"keyword": "bm25@1"} if self.vector_down else {"keyword": "bm25@1", "text": "minilm@1"}
        )
        return SearchResult(hits, len(hits), "hybrid", 0, query.limit, models, fallbacks)


class SlowStore:
    """An online store that answers after a delay (the seed's "feature store latency")."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    def read(self, *args: Any, **kwargs: Any) -> np.ndarray:
        time.sleep(self.delay_s)
        return self.inner.read(*args, **kwargs)


def _model(snap: CatalogSnapshot) -> CtrModel:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2000, len(FEATURES)))
    y = (x[:, FEATURES.index("affinity")] + rng.normal(size=2000) > 0).astype(int)
    return CtrModel(n_estimators=20).fit(x, y, feature_names=FEATURES)


@pytest.fixture(scope="module")
def snap() -> CatalogSnapshot:
    return _snapshot()


@pytest.fixture(scope="module")
def model(snap: CatalogSnapshot) -> CtrModel:
    return _model(snap)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedOnlineStore:
    s = EmbeddedOnlineStore(tmp_path / "online", standard_registry())
    ids = [f"a{i}" for i in range(N_ASSETS)]
    s.write("asset", ids, {"ctr_24h": np.linspace(0, 0.2, N_ASSETS)}, event_ts=time.time())
    s.write("user", ["u1"], {"top_categories_30d": ["audio,art"]}, event_ts=time.time())
    return s


def _pipe(snap: CatalogSnapshot, model: CtrModel | None, **kw: Any) -> RankingPipeline:
    # A generous deadline: only the timeout test is about the deadline (shared CI machine).
    cfg = kw.pop("cfg", RankingSettings(deadline_ms=10_000))
    geo = kw.pop("geo", lambda u: ("eu", 48.1, 11.5))
    return RankingPipeline(
        cfg, SnapshotHolder(lambda: snap, refresh_s=1e9),
        scorer=Scorer(model) if model is not None else None, user_geo=geo, **kw,
    )  # fmt: skip


def test_search_ranked_end_to_end_applies_hard_rules_and_slots(snap, model, store) -> None:
    pipe = _pipe(snap, model, search=CatalogSearch(snap), online=store)
    pipe.warm()
    out = pipe.rank(RankRequest(user_id="u1", query="anything", explain=True))
    ids = [i.asset_id for i in out.items]
    assert len(ids) == 20 and len(set(ids)) == 20 and not out.trending
    for bad in ("a5", "a6", "a7", "a11", "a23"):  # inactive, no stock, 4,300 km away, banned seller
        assert bad not in ids
    assert [i.position for i in out.items if i.sponsored] == [4, 12]
    assert {i.asset_id for i in out.items if i.sponsored} <= {"a20", "a21"}
    assert out.models["pctr"] == str(model.ref) and out.fallbacks == []
    assert set(out.timings_ms) >= {
        "candidates",
        "prefilter",
        "hydration",
        "scoring",
        "rerank",
        "polish",
    }
    organic = [i for i in out.items if not i.sponsored]
    top = organic[0].explanation
    assert top is not None and top["model"] == str(model.ref) and top["seller_trust"]
    pipe.close()


def test_unknown_geo_skips_the_distance_rule(snap, model) -> None:
    cfg = RankingSettings(max_candidates=10, sponsored_slots=[], deadline_ms=10_000)
    pipe = _pipe(snap, model, search=CatalogSearch(snap), geo=lambda u: (None, None, None), cfg=cfg)
    ids = [i.asset_id for i in pipe.rank(RankRequest(user_id="u1", query="q")).items]
    assert "a7" in ids
    pipe.close()


def test_override_category_ban_and_seller_diversity(snap, model) -> None:
    class Bans:
        def active_overrides(self, at: Any = None) -> ActiveOverrides:
            return ActiveOverrides(banned={"category": {"art"}})

    pipe = _pipe(snap, model, search=CatalogSearch(snap), overrides=Bans())
    out = pipe.rank(RankRequest(user_id="u1", query="q"))
    assert all(snap.categories[snap.index[i.asset_id]] != "art" for i in out.items)
    sellers = [i.seller_id for i in out.items]
    assert all(len(set(sellers[k : k + 4])) > 1 for k in range(len(sellers) - 3))
    pipe.close()


def test_inspect_reports_the_candidates_each_filter_removed(snap, model) -> None:
    class Bans:
        def active_overrides(self, at: Any = None) -> ActiveOverrides:
            banned = {"asset": {"a0"}, "seller": {"s3"}, "category": {"audio"}}
            return ActiveOverrides(banned=banned)

    pipe = _pipe(snap, model, search=CatalogSearch(snap), overrides=Bans())
    plain = pipe.rank(RankRequest(user_id="u1", query="q"))
    assert plain.removed is None and "removed" not in plain.to_dict()
    out = pipe.rank(RankRequest(user_id="u1", query="q", inspect=True))
    removed = out.removed
    assert removed is not None
    assert removed["status"] == ["a5"] and removed["stock"] == ["a6"]
    assert removed["distance"] == ["a7"]
    assert removed["asset_ban"] == ["a0"]
    assert "a11" in removed["seller"] and "a23" in removed["seller"]  # s11 is banned
    assert "a3" in removed["seller_ban"] and "a15" in removed["seller_ban"]  # s3: override
    assert all(snap.categories[snap.index[a]] == "audio" for a in removed["category_ban"])
    assert "a2" in removed["category_ban"]
    gone = [a for ids in removed.values() for a in ids]
    assert len(gone) == len(set(gone))  # each candidate under one filter only
    assert not set(gone) & {i.asset_id for i in out.items}
    assert out.to_dict()["removed"] == removed
    pipe.close()


def test_vector_index_down_is_passed_through(snap, model) -> None:
    pipe = _pipe(snap, model, search=CatalogSearch(snap, vector_down=True))
    out = pipe.rank(RankRequest(user_id="u1", query="q"))
    assert FALLBACK_VECTOR_DOWN in out.fallbacks and len(out.items) == 20
    assert "search.text" not in out.models
    pipe.close()


def test_search_down_serves_popular_in_region(snap, model) -> None:
    pipe = _pipe(snap, model, search=CatalogSearch(snap, fail=True))
    out = pipe.rank(RankRequest(user_id="u1", query="q"))
    assert FALLBACK_REGION_POPULAR in out.fallbacks and len(out.items) == 20
    pipe.close()


def test_feature_store_slow_switches_to_popularity_weights(snap, model, store) -> None:
    cfg = RankingSettings(hydration_budget_ms=20, deadline_ms=10_000)
    pipe = _pipe(snap, model, search=CatalogSearch(snap), online=SlowStore(store, 0.15), cfg=cfg)
    out = pipe.rank(RankRequest(user_id="u1", query="q"))
    assert FALLBACK_FEATURES_SLOW in out.fallbacks and not out.trending
    assert out.models["scorer"] == "popularity-prior@1"
    organic = [i for i in out.items if not i.sponsored]
    assert organic[0].pctr == pytest.approx(float(snap.ctr_prior[snap.index[organic[0].asset_id]]))
    pipe.close()


def test_scorer_timeout_returns_cached_trending(snap, model) -> None:
    class SlowScorer(Scorer):
        def score(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(0.3)
            return super().score(*args, **kwargs)

    pipe = _pipe(snap, None, search=CatalogSearch(snap), cfg=RankingSettings(deadline_ms=50))
    pipe.scorer = SlowScorer(model)
    out = pipe.rank(RankRequest(user_id="u1", query="q"))
    assert out.trending and out.fallbacks == [FALLBACK_TRENDING]
    assert [i.asset_id for i in out.items] == snap.trending[:20]
    pipe.close()


def test_no_model_uses_popularity_and_says_so(snap) -> None:
    pipe = _pipe(snap, None, search=CatalogSearch(snap))
    out = pipe.rank(RankRequest(user_id=None, query="q"))
    assert FALLBACK_NO_MODEL in out.fallbacks and len(out.items) == 20
    pipe.close()


def test_shap_contributions_plus_base_equal_raw_output(model) -> None:
    x = np.random.default_rng(9).normal(size=(10, len(FEATURES)))
    x[0, 3] = np.nan
    values, base = Explainer(model).contributions(x)
    assert np.allclose(values.sum(axis=1) + base, model.predict_raw(x), atol=1e-6)


def test_explanations_equal_shap_tree_explainer(model) -> None:
    shap = pytest.importorskip("shap")
    x = np.random.default_rng(10).normal(size=(25, len(FEATURES)))
    x[1, 2] = np.nan
    values, base = Explainer(model).contributions(x)
    tree = shap.TreeExplainer(model.booster)
    reference = np.asarray(tree.shap_values(x))
    reference = reference[-1] if reference.ndim == 3 else reference
    assert np.allclose(values, reference, atol=1e-6)
    assert base == pytest.approx(float(np.ravel(tree.expected_value)[-1]), abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    sellers=st.lists(st.sampled_from(["s1", "s2", "s3"]), min_size=0, max_size=40),
    max_run=st.integers(min_value=1, max_value=4),
)
def test_diversity_never_exceeds_the_run_limit(sellers: list[str], max_run: int) -> None:
    ids = [f"a{i}" for i in range(len(sellers))]
    order = diversify(ids, sellers, max_run=max_run)
    out = [sellers[i] for i in order]
    assert len(set(order)) == len(order)
    for k in range(len(out) - max_run):
        assert len(set(out[k : k + max_run + 1])) > 1
    # Nothing is dropped while another seller is still available to break a run.
    dropped = [sellers[i] for i in range(len(sellers)) if i not in set(order)]
    assert len(set(dropped)) <= 1
    if dropped:
        assert out[-max_run:] == [dropped[0]] * max_run or len(set(out)) == 1
    # Greedy: every item is in score order within its seller.
    for s in set(out):
        mine = [i for i in order if sellers[i] == s]
        assert mine == sorted(mine)


@given(n=st.integers(1, 30), n_ads=st.integers(0, 3), n_organic=st.integers(0, 40))
def test_sponsored_slots_land_at_their_positions(n: int, n_ads: int, n_organic: int) -> None:
    organic = [f"o{i}" for i in range(n_organic)]
    ads = [f"ad{i}" for i in range(n_ads)]
    out = inject_sponsored(organic, ads, slots=[4, 12], n=n)
    assert len(out) <= n
    for pos, (asset, is_ad) in enumerate(out, start=1):
        assert is_ad == asset.startswith("ad")
        if is_ad:
            assert pos in (4, 12)
    expected_ads = [p for p in (4, 12) if p <= min(n, n_organic + n_ads)][:n_ads]
    assert [p for p, (_, ad) in enumerate(out, start=1) if ad] == expected_ads or n_organic < 11
    assert [a for a, ad in out if not ad] == organic[: len([1 for _, ad in out if not ad])]
