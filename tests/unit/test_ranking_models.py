"""Ranking estimators (pCTR/pCVR, LambdaMART) and impression labelling."""

from __future__ import annotations

from collections.abc import Iterator

import lightgbm as lgb
import numpy as np
import pytest

from agora.config import Settings
from agora.errors import InvalidInput
from agora.mlops import create_model_store
from agora.mlops.base import ModelStore
from agora.ranking.fasttrees import CompiledForest
from agora.ranking.labels import label_impressions
from agora.ranking.models import PCVR_MODEL, CtrModel, LambdaRanker
from agora.ranking.quickscorer import QuickScorer


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStore]:
    created = create_model_store(Settings.load(data_dir=tmp_path_factory.mktemp("reg")))
    yield created
    created.close()  # type: ignore[attr-defined]


def _data(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.3, size=n) > 0).astype(int)
    return x, y


def test_ctr_model_learns_and_round_trips_through_the_store(store: ModelStore) -> None:
    x, y = _data()
    model = CtrModel(name=PCVR_MODEL, n_estimators=30).fit(x, y, feature_names=list("abcd"))
    p = model.predict(x)
    assert ((p > 0.5) == y).mean() > 0.85
    assert np.allclose(p, 1 / (1 + np.exp(-model.predict_raw(x))))
    ref = model.save(store, metrics={"auc": 0.9}, data_snapshot="sim@test")
    assert str(model.ref) == f"{PCVR_MODEL}@{ref.version}"
    loaded = CtrModel.load(store, PCVR_MODEL, version=ref.version)
    assert loaded.ref == ref and loaded.feature_names == list("abcd")
    assert np.allclose(loaded.predict(x), p)
    assert store.info(PCVR_MODEL, version=ref.version).features == list("abcd")


def test_lambda_ranker_orders_within_groups_and_loads(store: ModelStore) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 3))
    rel = np.clip(np.round(x[:, 0] * 1.5 + 1.5), 0, 3).astype(int)
    ranker = LambdaRanker(n_estimators=30, min_child_samples=5).fit(x, rel, group=[50] * 10)
    scores = ranker.predict(x)
    assert np.corrcoef(scores, rel)[0, 1] > 0.8
    ref = ranker.save(store)
    again = LambdaRanker.load(store, version=ref.version)
    assert np.allclose(again.predict(x), scores) and again.ref == ref
    with pytest.raises(InvalidInput):
        CtrModel.load(store, ref.name, version=ref.version)  # wrong estimator class


def test_bad_inputs_are_invalid() -> None:
    x, y = _data(50)
    with pytest.raises(InvalidInput):
        CtrModel().fit(x, y * 3)
    with pytest.raises(InvalidInput):
        CtrModel().predict(x)  # not fitted
    with pytest.raises(InvalidInput):
        CtrModel(n_estimators=2).fit(x, y).predict(x[:, :2])
    with pytest.raises(InvalidInput):
        LambdaRanker().fit(x, y, group=[10])


def _ev(asset: str, kind: str, minute: int, user: str = "u") -> dict[str, str]:
    return {
        "user_id": user,
        "asset_id": asset,
        "type": kind,
        "ts": f"2025-01-01T10:{minute:02d}:00Z",
    }


def test_labels_click_window_skip_and_purchase() -> None:
    events = [
        _ev("a", "impression", 0),
        _ev("a", "click", 5),
        _ev("a", "purchase", 9),
        _ev("b", "impression", 0),
        _ev("b", "skip", 1),
        _ev("b", "click", 2),
        _ev("c", "impression", 0),
        _ev("d", "impression", 0),
        _ev("d", "click", 3, user="other"),
        _ev("e", "click", 0),
        _ev("e", "impression", 1),  # click before the impression
    ]
    events.append(
        {"user_id": "u", "asset_id": "f", "type": "impression", "ts": "2025-01-01T10:00:00Z"}
    )
    events.append({"user_id": "u", "asset_id": "f", "type": "click", "ts": "2025-01-01T11:00:01Z"})
    got = label_impressions(events).set_index("asset_id")
    assert got["label"].to_dict() == {"a": 1, "b": 0, "c": 0, "d": 0, "e": 0, "f": 0}
    assert got["purchased"].to_dict() == {"a": 1, "b": 0, "c": 0, "d": 0, "e": 0, "f": 0}


def test_labels_served_feature_log_keeps_its_columns() -> None:
    served = [
        {
            "user_id": "u",
            "asset_id": "a",
            "ts": "2025-01-01T10:00:00Z",
            "request_id": "r1",
            "position": 3,
        }
    ]
    got = label_impressions([_ev("a", "click", 59)], impressions=served)
    assert got[["request_id", "position", "label"]].values.tolist() == [["r1", 3, 1]]
    assert len(label_impressions([], impressions=[])) == 0


@pytest.mark.parametrize("params", [{"num_leaves": 15, "max_depth": 5}, {"zero_as_missing": True}])
def test_compiled_forest_equals_lightgbm(params: dict[str, object]) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[rng.random(3000) < 0.2, 2] = 0.0
    y = (np.nan_to_num(x[:, 0]) + rng.normal(size=3000) > 0).astype(int)
    model = CtrModel(n_estimators=25, extra_params=params).fit(x, y)
    forest = CompiledForest.from_booster(model.booster)
    probe = rng.normal(size=(500, 6))
    probe[rng.random(probe.shape) < 0.15] = np.nan
    probe[:50, 2] = 0.0
    expected = model.predict_raw(probe)
    assert np.allclose(forest.predict_raw(probe), expected)
    assert np.allclose(forest.predict_raw_numpy(probe), expected)
    assert np.allclose(QuickScorer.from_forest(forest).predict_raw(probe), expected)


def test_quickscorer_scores_bags_and_single_leaf_trees_as_lightgbm() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2000, 5))
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 1]) > 0).astype(float)
    params = {"objective": "regression", "num_leaves": 7, "verbosity": -1}
    bags = [lgb.train({**params, "seed": s, "bagging_fraction": 0.7, "bagging_freq": 1},
                      lgb.Dataset(x, y), 40) for s in range(3)]  # fmt: skip
    # A constant label grows single-leaf trees: their one leaf is every row's exit.
    flat = lgb.train(params, lgb.Dataset(x, np.ones(2000)), 3)
    probe = np.vstack([x[:300], np.full((1, 5), np.nan), np.zeros((1, 5))])
    for boosters, cut in ((bags, 25), ([flat], None)):
        forest = CompiledForest.from_boosters(boosters, num_iteration=cut, scale=1 / len(boosters))
        mean = np.mean([b.predict(probe, num_iteration=cut) for b in boosters], axis=0)
        assert np.allclose(QuickScorer.from_forest(forest).predict_raw(probe), mean)
        assert np.allclose(forest.predict_raw(probe), mean)
    deep = {**params, "num_leaves": 100, "min_data_in_leaf": 2}
    wide = CompiledForest.from_booster(lgb.train(deep, lgb.Dataset(x, rng.normal(size=2000)), 2))
    with pytest.raises(ValueError, match="64 leaves"):
        QuickScorer.from_forest(wide)
