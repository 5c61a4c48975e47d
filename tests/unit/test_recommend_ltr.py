"""The learning-to-rank hybrid on a small synthetic catalog: fit, rank, save/load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from agora.config import Settings
from agora.mlops import create_model_store
from agora.mlops.base import ModelStore
from agora.recommend.base import InteractionMatrix
from agora.recommend.content import ContentRecommender
from agora.recommend.ease import EaseRecommender
from agora.recommend.hybrid import HybridRecommender
from agora.recommend.knn import ItemKnnRecommender
from agora.recommend.ltr import LtrHybridRecommender, _peak
from agora.recommend.ltr_features import DAY_S, FeatureBuilder, _quantile
from agora.recommend.side_info import SideInfo

CATS = {f"a{j}": ["A"] for j in range(15)} | {f"b{j}": ["B"] for j in range(15)}


def _data() -> tuple[InteractionMatrix, SideInfo]:
    """80 users, each in one category; every A user but ``u0`` has the planted asset ``a0``."""
    rng = np.random.default_rng(0)
    triples: list[tuple[str, str, float]] = []
    attrs: dict[str, dict[str, object]] = {}
    for u in range(80):
        cat = "a" if u % 2 == 0 else "b"
        picks = rng.choice(np.arange(1, 15), 6, replace=False)
        items = [f"{cat}{j}" for j in picks] + ([f"{cat}0"] if u != 0 else [])
        triples += [(f"u{u}", item, 1.0) for item in items]
        attrs[f"u{u}"] = {"age": float(20 + u % 30), "segment": cat}
    return InteractionMatrix.from_triples(triples), SideInfo(CATS, attrs)


@pytest.fixture(scope="module")
def fitted() -> LtrHybridRecommender:
    data, side = _data()
    comps = {"ease": EaseRecommender(10.0), "item_knn": ItemKnnRecommender(20)}
    return LtrHybridRecommender(comps, pool=20, folds=2, max_rounds=100, num_threads=1).fit(
        data, side
    )


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ModelStore]:
    created = create_model_store(Settings.load(data_dir=tmp_path))
    yield created
    close = getattr(created, "close", None)
    if close is not None:
        close()


def test_ranker_is_trained_and_ranks_the_planted_asset_first(fitted: LtrHybridRecommender) -> None:
    assert fitted.ranker is not None
    top = [i.asset_id for i in fitted.recommend("u0", 5)]
    assert top[0] == "a0"
    assert all(a.startswith("a") for a in top)  # the user's category
    seen = set(fitted.data.items_of("u0")) if fitted.data else set()
    assert not seen & set(top)


def test_history_given_at_call_time_is_ranked_too(fitted: LtrHybridRecommender) -> None:
    history = {"a1": 1.0, "a2": 1.0, "a3": 1.0, "a4": 1.0}
    top = [i.asset_id for i in fitted.recommend_history(history, 3)]
    assert top and top[0] == "a0" and not set(top) & set(history)


def test_without_enough_users_the_blend_serves() -> None:
    data = InteractionMatrix.from_triples(
        [("u1", "a1", 1), ("u1", "a2", 1), ("u2", "a1", 1), ("u2", "a2", 1), ("u3", "a1", 1)]
    )
    h = LtrHybridRecommender({"ease": EaseRecommender(1.0)}).fit(data)
    assert h.ranker is None
    assert [i.asset_id for i in h.recommend("u3", 1)] == ["a2"]


def test_saves_and_loads_through_the_model_store(
    fitted: LtrHybridRecommender, store: ModelStore
) -> None:
    ref = fitted.save(store)
    loaded = HybridRecommender.load(store, version=ref.version)  # the service loads "hybrid"
    assert isinstance(loaded, LtrHybridRecommender)
    assert loaded.model_key == str(ref)
    before = [(i.asset_id, round(i.score, 5)) for i in fitted.recommend("u2", 5)]
    after = [(i.asset_id, round(i.score, 5)) for i in loaded.recommend("u2", 5)]
    assert before == after
    assert loaded.similar_items("a1", 3)


def test_ranker_is_bagged_over_user_folds(fitted: LtrHybridRecommender) -> None:
    ranker = fitted.ranker
    assert ranker is not None
    assert len(ranker.boosters) == fitted.bags
    assert 1 <= ranker.trees <= fitted.max_rounds
    assert fitted.params()["trees"] == ranker.trees


def test_the_served_forest_scores_the_mean_of_the_bags(fitted: LtrHybridRecommender) -> None:
    ranker, builder = fitted.ranker, fitted.features
    assert ranker is not None and builder is not None and ranker.forest is not None
    data = fitted.data
    assert data is not None
    scores = {k: c.score_user("u3") for k, c in fitted.components.items()}
    history = data.matrix[data.user_index["u3"]]
    _idx, x = builder.rows({k: s[0] for k, s in scores.items() if s}, history, "u3")
    x = np.vstack([x, np.where(np.arange(x.shape[1]) % 3 == 0, np.nan, x)])  # missing values too
    bags = np.mean([b.predict(x, num_iteration=ranker.trees) for b in ranker.boosters], axis=0)
    assert np.allclose(ranker.predict(x), bags)


def test_tree_count_follows_the_smoothed_curve_not_a_lucky_bump() -> None:
    rounds = np.arange(1, 301, dtype=float)
    curve = 0.5 - ((rounds - 200) / 400) ** 2  # peaks at 200 trees
    curve[9] = 0.6  # one noisy early round
    assert 185 <= _peak(curve) <= 215
    assert _peak(np.array([0.1, 0.3, 0.2])) == 2


def test_content_profile_similarity_is_a_ranker_feature() -> None:
    """With a content model, a candidate's cosine to the user's profile is a column."""
    data, side = _data()
    rng = np.random.default_rng(1)
    axis = {"a": np.array([1.0, 0.0, 0.0]), "b": np.array([0.0, 1.0, 0.0])}
    vectors = {a: axis[a[0]] + 0.1 * rng.normal(size=3) for a in data.item_ids}
    content = ContentRecommender().fit(data, embeddings=vectors)
    comps = {"ease": EaseRecommender(10.0)}
    plain = FeatureBuilder(data, comps, side, pool=20)
    with_content = FeatureBuilder(data, comps, side, pool=20, content=content)
    comps["ease"].fit(data)
    scores = {"ease": comps["ease"].score_user("u0")[0]}  # type: ignore[index]
    history = data.matrix[data.user_index["u0"]]
    idx, x = with_content.rows(scores, history, "u0")
    _, x_plain = plain.rows(scores, history, "u0")
    assert x.shape == x_plain.shape  # same columns either way: a model keeps its width
    differing = [
        c for c in range(x.shape[1]) if not np.allclose(x[:, c], x_plain[:, c], equal_nan=True)
    ]
    assert len(differing) == 2
    sims = x[:, differing[0]]
    same_category = np.array([data.item_ids[j].startswith("a") for j in idx])
    assert sims[same_category].min() > sims[~same_category].max()


def test_time_window_counts_match_a_count_per_asset() -> None:
    """The vectorised window counts equal counting each asset's interaction times."""
    data, side = _data()
    cells = data.matrix.tocoo()
    rng = np.random.default_rng(2)
    stamps = 1.7e9 + rng.uniform(0, 30 * DAY_S, cells.nnz).round()
    times = sp.csr_matrix((stamps, (cells.row, cells.col)), shape=data.shape)
    builder = FeatureBuilder(data, {}, SideInfo(CATS, side.user_attrs, times))
    idx = np.arange(data.shape[1])
    lo, hi = 1.7e9 + 5 * DAY_S, 1.7e9 + 12 * DAY_S
    per_asset = sp.csc_matrix(times)
    expected = [
        int(((per_asset[:, j].data >= lo) & (per_asset[:, j].data < hi)).sum()) for j in idx
    ]
    assert builder._window_counts(idx, lo, hi).tolist() == expected
    assert 0 < sum(expected) < cells.nnz


def test_a_live_history_with_its_user_ranks_as_the_trained_user(
    fitted: LtrHybridRecommender,
) -> None:
    """The service scores live histories: naming the user gives the ranker the same features."""
    assert fitted.data is not None
    history = dict.fromkeys(fitted.data.items_of("u0"), 1.0)
    trained = [(i.asset_id, round(i.score, 5)) for i in fitted.recommend("u0", 5)]
    live = fitted.recommend_history(history, 5, user="u0")
    assert [(i.asset_id, round(i.score, 5)) for i in live] == trained


def test_the_served_head_keeps_the_pool_rows_of_each_models_top() -> None:
    """``head`` drops candidates outside every model's top, leaving the others' features as is."""
    data, side = _data()
    comps = {"ease": EaseRecommender(10.0).fit(data), "item_knn": ItemKnnRecommender(20).fit(data)}
    builder = FeatureBuilder(data, comps, side, pool=12)
    scores = {k: c.score_user("u1")[0] for k, c in comps.items()}  # type: ignore[index]
    history = data.matrix[data.user_index["u1"]]
    idx, x = builder.rows(scores, history, "u1")
    head_idx, head_x = builder.rows(scores, history, "u1", head=3)
    tops = set()
    for s in scores.values():
        s = s.copy()
        s[history.indices] = -np.inf
        tops |= set(np.argsort(-s, kind="stable")[:3].tolist())
    assert set(head_idx.tolist()) == tops & set(idx.tolist())
    assert 3 <= len(head_idx) < len(idx)
    rows = dict(zip(idx.tolist(), x, strict=True))
    assert all(
        np.array_equal(rows[j], r, equal_nan=True)
        for j, r in zip(head_idx.tolist(), head_x, strict=True)
    )


def test_a_fold_without_interaction_times_keeps_the_time_columns() -> None:
    """Empty times give NaN time columns, so a fold and the full data have the same width."""
    data, side = _data()
    cells = data.matrix.tocoo()
    timed = sp.csr_matrix((np.full(cells.nnz, 1.7e9), (cells.row, cells.col)), shape=data.shape)
    comps = {"ease": EaseRecommender(10.0).fit(data)}
    scores = {"ease": comps["ease"].score_user("u0")[0]}  # type: ignore[index]
    history = data.matrix[data.user_index["u0"]]
    widths = set()
    for times in (timed, sp.csr_matrix(data.shape)):
        builder = FeatureBuilder(data, comps, SideInfo(CATS, side.user_attrs, times), pool=20)
        widths.add(builder.rows(scores, history, "u0")[1].shape[1])
    assert len(widths) == 1


def test_publication_times_place_each_candidate_against_the_users_history() -> None:
    """The publication columns: years from the history's median release, in units of its
    spread, and the asset's age at the user's median interaction time; undated: NaN."""
    data, side = _data()
    undated = {data.item_ids[0], data.item_ids[7]}
    published = {a: 1.6e9 + 30 * DAY_S * k for k, a in enumerate(data.item_ids) if a not in undated}
    cells = data.matrix.tocoo()
    stamps = 1.7e9 + np.random.default_rng(5).uniform(0, 60 * DAY_S, cells.nnz).round()
    times = sp.csr_matrix((stamps, (cells.row, cells.col)), shape=data.shape)
    comps = {"ease": EaseRecommender(10.0).fit(data)}
    scores = {"ease": comps["ease"].score_user("u1")[0]}  # type: ignore[index]
    history = data.matrix[data.user_index["u1"]]
    plain = FeatureBuilder(data, comps, SideInfo(CATS, side.user_attrs, times), pool=20)
    dated = FeatureBuilder(
        data, comps, SideInfo(CATS, side.user_attrs, times, item_times=published), pool=20
    )
    idx, x = dated.rows(scores, history, "u1")
    _, x_plain = plain.rows(scores, history, "u1")
    assert x.shape == x_plain.shape  # unknown dates: the same columns, NaN
    assert np.isnan(x_plain[:, -3:]).all()
    known = [published[data.item_ids[j]] for j in history.indices if data.item_ids[j] in published]
    centre = np.median(known)
    spread = max(np.quantile(known, 0.75) - np.quantile(known, 0.25), 30 * DAY_S)
    active = np.median(times[data.user_index["u1"]].data)
    pub = np.array([published.get(data.item_ids[j], np.nan) for j in idx])
    year = 365.25 * DAY_S
    np.testing.assert_allclose(x[:, -3], (pub - centre) / year, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x[:, -2], (pub - centre) / spread, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x[:, -1], (active - pub) / year, rtol=1e-5, atol=1e-5)
    assert np.isnan(pub).any() and not np.isnan(pub).all()  # both kinds among the candidates


def test_sorted_quantile_equals_numpys() -> None:
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 8, 151):
        ordered = np.sort(rng.normal(size=n))
        for q in (0.25, 0.5, 0.75):
            assert _quantile(ordered, q) == pytest.approx(float(np.quantile(ordered, q)))
