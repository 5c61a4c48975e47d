"""Model-level checks: ALS fold-in, EASE/DLAE, RP3beta."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from agora.errors import InvalidInput
from agora.recommend.base import InteractionMatrix
from agora.recommend.ease import EaseRecommender
from agora.recommend.mf import AlsRecommender
from agora.recommend.rp3 import Rp3BetaRecommender


@pytest.fixture(scope="module")
def data() -> InteractionMatrix:
    rng = np.random.default_rng(0)
    # Two taste groups: even users like low items, odd users high items.
    triples = []
    for u in range(60):
        base = 0 if u % 2 == 0 else 20
        for i in rng.choice(20, size=8, replace=False):
            triples.append((f"u{u}", f"a{base + int(i)}", float(rng.integers(1, 4))))
    return InteractionMatrix.from_triples(triples)


def test_als_fold_in_matches_implicit(data: InteractionMatrix) -> None:
    als = AlsRecommender(8, regularization=0.5, iterations=5, num_threads=1).fit(data)
    row = data.matrix[data.user_index["u3"]]
    reference = np.asarray(als._model.recalculate_user(0, row)).ravel()
    np.testing.assert_allclose(als._fold_in(row), reference, rtol=1e-3, atol=1e-4)


def test_als_scores_a_history_without_training_the_user(data: InteractionMatrix) -> None:
    als = AlsRecommender(8, regularization=0.5, iterations=5, num_threads=1).fit(data)
    recs = als.recommend_history({"a21": 1.0, "a22": 1.0, "a23": 1.0}, 5)
    assert len(recs) == 5
    assert all(int(r.asset_id[1:]) >= 20 for r in recs)  # the high-item group


def test_dlae_dropout_zero_is_ease_and_dropout_changes_weights(data: InteractionMatrix) -> None:
    ease = EaseRecommender(10.0).fit(data)
    same = EaseRecommender(10.0, dropout=0.0).fit(data)
    np.testing.assert_array_equal(ease.weights, same.weights)
    dlae = EaseRecommender(10.0, dropout=0.5).fit(data)
    assert not np.allclose(ease.weights, dlae.weights)
    recs = dlae.recommend("u0", 5)
    assert recs and all(int(r.asset_id[1:]) < 20 for r in recs)
    seen = set(data.matrix[data.user_index["u0"]].indices.tolist())
    assert not {data.item_index[r.asset_id] for r in recs} & seen
    with pytest.raises(InvalidInput):
        EaseRecommender(10.0, dropout=1.0)


def test_rp3beta_neighbourhoods_follow_co_occurrence(data: InteractionMatrix) -> None:
    rp3 = Rp3BetaRecommender(1.0, 0.5, k=5).fit(data)
    assert max(np.diff(rp3.similarity.indptr)) <= 5
    assert rp3.similarity.diagonal().sum() == 0
    sims = rp3.similar_items("a3", 5)
    assert sims and all(int(s.asset_id[1:]) < 20 for s in sims)
    recs = rp3.recommend("u1", 5)
    assert recs and all(int(r.asset_id[1:]) >= 20 for r in recs)


def test_row_max_equals_the_dense_maximum_with_unstored_zeros() -> None:
    from agora.recommend.matrix import row_max

    rng = np.random.default_rng(3)
    for trial in range(20):
        m = sp.random(40, 30, density=0.3, format="csr", random_state=trial)
        m.data -= 0.5 * (trial % 2)  # half the trials hold negative values
        rows = rng.choice(40, int(rng.integers(1, 10)), replace=False)
        np.testing.assert_allclose(row_max(m, rows), m[rows].toarray().max(axis=0))
    dense = sp.csr_matrix(np.array([[-1.0, -2.0], [-3.0, 0.5]]))
    assert row_max(dense, np.array([0, 1])).tolist() == [-1.0, 0.5]  # all stored: no zero
    assert row_max(dense, np.array([], dtype=int)).tolist() == [0.0, 0.0]


def test_history_scoring_equals_the_sparse_products(data: InteractionMatrix) -> None:
    from agora.recommend.knn import ItemKnnRecommender
    from agora.recommend.matrix import history_row, weighted_row_sum

    m = data.matrix
    rows, weights = np.array([7, 2, 30]), np.array([0.5, 2.0, 1.0])
    expected = np.asarray(m[rows].T @ weights).ravel()
    np.testing.assert_allclose(weighted_row_sum(m, rows, weights), expected, rtol=1e-6)
    np.testing.assert_allclose(weighted_row_sum(m, rows), np.asarray(m[rows].sum(axis=0)).ravel())
    assert not weighted_row_sum(m, np.array([], dtype=int)).any()
    row = history_row(np.array([9, 3]), np.array([2.0, 1.0]), m.shape[1])
    assert row.has_sorted_indices and row.indices.tolist() == [3, 9]
    assert row.toarray()[0, [3, 9]].tolist() == [1.0, 2.0]
    history = {"a3": 2.0, "a5": 1.0, "missing": 9.0}
    for model in (ItemKnnRecommender(10).fit(data), Rp3BetaRecommender().fit(data)):
        x = np.zeros((1, m.shape[1]), np.float32)
        for a, w in history.items():
            if a in data.item_index:
                x[0, data.item_index[a]] = w if isinstance(model, ItemKnnRecommender) else 1.0
        scored = model.score_history(history)
        assert scored is not None
        np.testing.assert_allclose(scored[0], (x @ model.similarity).ravel(), rtol=1e-5)
