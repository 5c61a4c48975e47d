"""The Recommender contract (``agora.recommend.base``) on every algorithm.

Each implementation is fitted on two small interaction sets: a slice of
MovieLens-100k (real ratings; skipped where the shared datasets are absent)
and a seeded simulated marketplace (``agora.demo.simulator``; always there).
Then, as the base docstrings define it:

* ``fit`` returns the model; ``recommend`` and ``similar_items`` change nothing;
* ``recommend`` gives at most ``n`` distinct catalog items, best first, never
  what the user already interacted with, and [] for an unknown user (the
  service serves those cold-start lists); ``recommend_history`` likewise for a
  history given at call time;
* ``similar_items`` never returns the item itself;
* :class:`RecommendFilters` are honoured: ``allowed`` and ``exclude`` cut the
  list without re-scoring it; trending also reads ``category`` (the service
  passes category and exclusions to trending padding, region to every model);
* ``save`` / ``load`` through the model store give the same lists and report
  ``reco-<name>@<version>`` (``@unsaved`` before);
* fitting twice with the same seed gives the same lists.

Non-personal trending ignores the user (its documented contract): it answers
anyone the same list and has no history to exclude.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from agora.config import Settings
from agora.demo.simulator import DEFAULT_END, SessionSimulator, SimAsset
from agora.mlops import create_model_store
from agora.mlops.base import ModelStore
from agora.recommend.base import InteractionMatrix, Recommender, RecommendFilters, ScoredItem
from agora.recommend.content import ContentRecommender
from agora.recommend.ease import EaseRecommender
from agora.recommend.hybrid import HybridRecommender
from agora.recommend.knn import ItemKnnRecommender
from agora.recommend.lightgcn import GraphRecommender
from agora.recommend.ltr import LtrHybridRecommender
from agora.recommend.mf import AlsRecommender, BprRecommender
from agora.recommend.ncf import NeuralCfRecommender
from agora.recommend.popularity import PopularityRecommender
from agora.recommend.rp3 import Rp3BetaRecommender
from agora.recommend.sasrec import TransformerRecommender
from agora.recommend.sequences import ordered_histories
from agora.recommend.side_info import SideInfo
from agora.recommend.trending import DEFAULT_WEIGHTS, Event, TrendingRecommender

MOVIELENS = Path(__file__).resolve().parents[3] / "shared" / "data" / "movielens-100k-recbole"
N_USERS_CHECKED = 6


# -- interaction sets -----------------------------------------------------------------
@dataclass(frozen=True)
class Interactions:
    """One training set and what the non-collaborative models learn from."""

    matrix: InteractionMatrix
    categories: dict[str, str]  # asset -> its (first) category
    embeddings: dict[str, np.ndarray]  # asset -> content vector
    events: list[Event]  # (asset, type, ts, region, category) for trending
    now: float
    sequences: dict[str, list[str]]  # user -> assets in time order (the transformer)

    @property
    def side(self) -> SideInfo:
        return SideInfo(item_categories={a: [c] for a, c in self.categories.items()})

    def users(self) -> list[str]:
        """Users with a few interactions, spread over the matrix (deterministic)."""
        counts = np.diff(self.matrix.matrix.indptr)
        active = [u for u, c in zip(self.matrix.user_ids, counts, strict=True) if c >= 5]
        step = max(1, len(active) // N_USERS_CHECKED)
        return active[::step][:N_USERS_CHECKED]


def movielens() -> Interactions:
    """Users 1-150 x movies 1-800 of MovieLens-100k (13k ratings), every rating weight 1."""
    if not MOVIELENS.is_dir():
        pytest.skip(f"shared datasets not found at {MOVIELENS}")
    ratings = []
    with (MOVIELENS / "ml-100k.inter").open() as fh:
        next(fh)
        for line in fh:
            user, item, _rating, ts = line.rstrip("\n").split("\t")
            if int(user) <= 150 and int(item) <= 800:
                ratings.append((user, item, float(ts)))
    genres: dict[str, list[str]] = {}
    years: dict[str, float] = {}
    with (MOVIELENS / "ml-100k.item").open(encoding="latin-1") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            genres[parts[0]] = (parts[3].split() if len(parts) > 3 else []) or ["unknown"]
            year = parts[2].strip() if len(parts) > 2 else ""
            years[parts[0]] = float(year) if year.isdigit() else 1990.0
    matrix = InteractionMatrix.from_triples((u, i, 1.0) for u, i, _ in ratings)
    vocabulary = sorted({g for i in matrix.item_ids for g in genres[i]})
    embeddings = {
        i: np.array([g in genres[i] for g in vocabulary] + [(years[i] - 1990.0) / 20.0], float)
        for i in matrix.item_ids
    }
    categories = {i: genres[i][0] for i in matrix.item_ids}
    events: list[Event] = [(i, "view", ts, None, categories[i]) for _, i, ts in ratings]
    now = max(ts for *_, ts in ratings)
    return Interactions(matrix, categories, embeddings, events, now, ordered_histories(ratings))


def simulated() -> Interactions:
    """A seeded marketplace: 60 assets in four categories, 100 users, 2,500 sessions."""
    kinds = ("props", "textures", "audio", "sprites")
    assets = [SimAsset(f"a{j:02d}", kinds[j % 4], 1.0 + j % 9) for j in range(60)]
    users = [f"u{k:03d}" for k in range(100)]
    sim = SessionSimulator(assets, users, seed=5, end=DEFAULT_END)
    engaged = [e for s in sim.sessions(2500) for e in s if e["type"] in DEFAULT_WEIGHTS]
    matrix = InteractionMatrix.from_triples(
        (e["user_id"], e["asset_id"], DEFAULT_WEIGHTS[e["type"]]) for e in engaged
    )
    categories = {a.asset_id: a.category for a in assets if a.asset_id in matrix.item_index}
    embeddings = {
        a.asset_id: np.array([a.category == k for k in kinds] + [a.price / 9.0], float)
        for a in assets
        if a.asset_id in categories
    }
    events: list[Event] = [
        (e["asset_id"], e["type"], datetime.fromisoformat(e["ts"]).timestamp(), None,
         categories[e["asset_id"]])
        for e in engaged
    ]  # fmt: skip
    sequences = ordered_histories(
        (e["user_id"], e["asset_id"], datetime.fromisoformat(e["ts"]).timestamp()) for e in engaged
    )
    return Interactions(matrix, categories, embeddings, events, DEFAULT_END.timestamp(), sequences)


DATASETS: dict[str, Callable[[], Interactions]] = {
    "movielens-100k": movielens,
    "simulated": simulated,
}


# -- implementations ------------------------------------------------------------------
@dataclass(frozen=True)
class Impl:
    """How to build and fit one implementation, and which parts of the contract it has."""

    make: Callable[[], Recommender]
    fit: Callable[[Recommender, Interactions], Recommender] = field(
        default=lambda model, data: model.fit(data.matrix)
    )
    personal: bool = True  # False: the user is ignored (trending)
    similar: bool = True  # False: no notion of item similarity (trending)


def _fit_content(model: Recommender, data: Interactions) -> Recommender:
    assert isinstance(model, ContentRecommender)
    return model.fit(data.matrix, embeddings=data.embeddings)


def _fit_trending(model: Recommender, data: Interactions) -> Recommender:
    assert isinstance(model, TrendingRecommender)
    return model.fit_events(data.events, now=data.now)


def _fit_blend(model: Recommender, data: Interactions) -> Recommender:
    assert isinstance(model, HybridRecommender) and model.content is not None
    model.content.fit(data.matrix, embeddings=data.embeddings)
    return model.fit(data.matrix)


def _fit_ltr(model: Recommender, data: Interactions) -> Recommender:
    assert isinstance(model, LtrHybridRecommender)
    return model.fit(data.matrix, data.side)


def _fit_transformer(model: Recommender, data: Interactions) -> Recommender:
    assert isinstance(model, TransformerRecommender)
    return model.fit(data.matrix, sequences=data.sequences, embeddings=data.embeddings)


YEARS_H = 24.0 * 365 * 30  # MovieLens' ratings span months: every one is "recent"

IMPLS: dict[str, Impl] = {
    "popularity": Impl(PopularityRecommender),
    "item_knn-bm25": Impl(lambda: ItemKnnRecommender(50, weighting="bm25", num_threads=1)),
    "item_knn-cosine": Impl(lambda: ItemKnnRecommender(50, weighting="cosine", num_threads=1)),
    "ease": Impl(lambda: EaseRecommender(100.0)),
    "ease-dlae": Impl(lambda: EaseRecommender(100.0, dropout=0.25)),
    "rp3beta": Impl(lambda: Rp3BetaRecommender(1.0, 0.5, k=50)),
    "als": Impl(lambda: AlsRecommender(16, iterations=5, num_threads=1, random_state=7)),
    # One thread: implicit's multi-threaded BPR updates factors Hogwild-style,
    # so only a single-threaded fit is reproducible from the seed.
    "bpr": Impl(lambda: BprRecommender(16, iterations=20, num_threads=1, random_state=7)),
    "content": Impl(ContentRecommender, _fit_content),
    "trending": Impl(
        lambda: TrendingRecommender(window_h=YEARS_H, half_life_h=YEARS_H / 4),
        _fit_trending,
        personal=False,
        similar=False,
    ),
    # The PyTorch models, small and few epochs: the contract, not their quality.
    "transformer": Impl(
        lambda: TransformerRecommender(16, max_len=20, epochs=2, batch_size=64), _fit_transformer
    ),
    "neural_cf": Impl(lambda: NeuralCfRecommender(8, layers=(16, 8), epochs=2)),
    "graph": Impl(lambda: GraphRecommender(16, epochs=20)),
    "hybrid-blend": Impl(
        lambda: HybridRecommender(
            {
                "ease": EaseRecommender(100.0),
                "item_knn": ItemKnnRecommender(50, num_threads=1),
                "als": AlsRecommender(16, iterations=5, num_threads=1, random_state=7),
            },
            {"ease": 1.0, "item_knn": 0.5, "als": 0.5},
            pool=60,
            content=ContentRecommender(),
            profile_weight=0.3,
        ),
        _fit_blend,
    ),
    # The hybrid with the PyTorch models as components (fitted on the matrix alone).
    "hybrid-neural": Impl(
        lambda: HybridRecommender(
            {
                "ease": EaseRecommender(100.0),
                "graph": GraphRecommender(16, epochs=20),
                "transformer": TransformerRecommender(16, max_len=20, epochs=2, batch_size=64),
            },
            {"ease": 1.0, "graph": 0.5, "transformer": 0.5},
            pool=60,
        )
    ),
    "hybrid-ltr": Impl(
        lambda: LtrHybridRecommender(
            {"ease": EaseRecommender(100.0), "item_knn": ItemKnnRecommender(50, num_threads=1)},
            pool=40,
            head=20,
            folds=2,
            bags=2,
            max_rounds=25,
            num_threads=1,
            seed=3,
        ),
        _fit_ltr,
    ),
}


@dataclass
class Fitted:
    impl: Impl
    data: Interactions
    model: Recommender
    returned: Recommender  # what fit returned
    fit_warnings: list[str]


@pytest.fixture(scope="module", params=list(DATASETS))
def data(request: pytest.FixtureRequest) -> Interactions:
    return DATASETS[request.param]()


@pytest.fixture(scope="module", params=list(IMPLS))
def impl(request: pytest.FixtureRequest) -> Impl:
    return IMPLS[request.param]


def fit(impl: Impl, data: Interactions) -> Fitted:
    model = impl.make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        returned = impl.fit(model, data)
    noise = (DeprecationWarning, PendingDeprecationWarning)  # third-party, not ours to fix
    said = [f"{w.category.__name__}: {w.message}" for w in caught if w.category not in noise]
    return Fitted(impl, data, model, returned, said)


@pytest.fixture(scope="module")
def fitted(impl: Impl, data: Interactions) -> Fitted:
    return fit(impl, data)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStore]:
    built = create_model_store(Settings.load(data_dir=tmp_path_factory.mktemp("reco-store")))
    yield built
    built.close()  # type: ignore[attr-defined]


# -- helpers --------------------------------------------------------------------------
def ids(items: list[ScoredItem]) -> list[str]:
    return [i.asset_id for i in items]


def history_of(data: Interactions, user: str) -> dict[str, float]:
    row = data.matrix.matrix[data.matrix.user_index[user]]
    return {data.matrix.item_ids[j]: float(v) for j, v in zip(row.indices, row.data, strict=True)}


def assert_ranked_list(items: list[ScoredItem], n: int, catalog: set[str]) -> None:
    """At most ``n`` distinct catalog items, scores finite and non-increasing."""
    assert len(items) <= n
    assert len(set(ids(items))) == len(items), "duplicate items"
    assert set(ids(items)) <= catalog, "items outside the catalog"
    scores = np.array([i.score for i in items], dtype=np.float64)
    assert np.isfinite(scores).all()
    assert (np.diff(scores) <= 0).all(), f"not best first: {scores}"
    assert all(isinstance(i.source, str) and i.source for i in items)


def lists(model: Recommender, data: Interactions) -> list[list[tuple[str, float]]]:
    """Everything the model answers for the checked users and their first items."""
    users = data.users()
    out = [model.recommend(u, 20) for u in users]
    out += [model.recommend_history(history_of(data, u), 20) for u in users]
    out += [model.similar_items(data.matrix.item_ids[k], 10) for k in range(0, 50, 10)]
    return [[(i.asset_id, round(i.score, 5)) for i in items] for items in out]


# -- the contract ---------------------------------------------------------------------
def test_fit_returns_the_model_and_warns_nothing(fitted: Fitted) -> None:
    assert fitted.returned is fitted.model
    assert fitted.fit_warnings == []


def test_recommend_gives_at_most_n_distinct_catalog_items_best_first(fitted: Fitted) -> None:
    model, catalog = fitted.model, set(fitted.data.matrix.item_ids)
    for user in fitted.data.users():
        for n in (1, 10, 50):
            items = model.recommend(user, n)
            assert_ranked_list(items, n, catalog)
            assert items, f"nothing for known user {user} (n={n})"
        assert ids(model.recommend(user, 5)) == ids(model.recommend(user, 10))[:5]


def test_a_known_users_seen_items_are_excluded(fitted: Fitted) -> None:
    if not fitted.impl.personal:
        pytest.skip("non-personal: the service excludes through filters (see the filter test)")
    model, data = fitted.model, fitted.data
    for user in data.users():
        assert model.knows_user(user)
        seen = set(data.matrix.items_of(user))
        assert not set(ids(model.recommend(user, 50))) & seen


def test_an_unknown_user_gets_no_list_and_no_error(fitted: Fitted) -> None:
    model = fitted.model
    assert not model.knows_user("no-such-user")
    if fitted.impl.personal:
        assert model.recommend("no-such-user", 10) == []
    else:  # trending answers anyone, the same list
        anyone = model.recommend("no-such-user", 10)
        assert anyone and anyone == model.recommend(fitted.data.users()[0], 10)
    assert model.recommend_history({}, 10) == []
    assert model.recommend_history({"no-such-asset": 1.0}, 10) == []


def test_a_history_given_at_call_time_is_scored_without_its_items(fitted: Fitted) -> None:
    model, data = fitted.model, fitted.data
    catalog = set(data.matrix.item_ids)
    for user in data.users():
        history = history_of(data, user)
        items = model.recommend_history(history, 20, user=user)
        assert_ranked_list(items, 20, catalog)
        assert items
        if fitted.impl.personal:
            assert not set(ids(items)) & set(history)
            # A history of a user who arrived after training (cold start with events).
            anonymous = model.recommend_history(history, 20)
            assert_ranked_list(anonymous, 20, catalog)
            assert not set(ids(anonymous)) & set(history)


def test_similar_items_never_returns_the_item(fitted: Fitted) -> None:
    model, data = fitted.model, fitted.data
    assert model.similar_items("no-such-asset", 10) == []
    if not fitted.impl.similar:
        assert model.similar_items(data.matrix.item_ids[0], 10) == []
        return
    catalog = set(data.matrix.item_ids)
    for item in data.matrix.item_ids[:40:8]:
        items = model.similar_items(item, 10)
        assert_ranked_list(items, 10, catalog)
        assert items and item not in ids(items)


def test_allowed_and_excluded_items_cut_the_list_without_rescoring_it(fitted: Fitted) -> None:
    model, data = fitted.model, fitted.data
    allowed = frozenset(data.matrix.item_ids[::2])
    for user in data.users()[:3]:
        full = model.recommend(user, len(data.matrix.item_ids))
        top = ids(full)[:3]
        flt = RecommendFilters(allowed=allowed, exclude=frozenset(top))
        cut = model.recommend(user, 10, filters=flt)
        assert set(ids(cut)) <= allowed - set(top)
        want = [i.score for i in full if flt.admits(i.asset_id)][:10]
        np.testing.assert_allclose([i.score for i in cut], want, rtol=1e-6)
        history = history_of(data, user)
        from_history = model.recommend_history(history, 10, filters=flt, user=user)
        assert set(ids(from_history)) <= allowed - set(top)
        if fitted.impl.similar:
            item = data.matrix.items_of(user)[0]
            similar = model.similar_items(item, 10, filters=flt)
            assert set(ids(similar)) <= allowed - set(top)


def test_the_services_filters_are_honoured(fitted: Fitted) -> None:
    """What RecommendationService passes: region to every model (``_score``); category,
    region and the kept, purchased and seen items to trending padding (``_finish``)."""
    model, data = fitted.model, fitted.data
    user = data.users()[0]
    seen = frozenset(data.matrix.items_of(user))
    items = model.recommend(user, 30, filters=RecommendFilters(region="eu", exclude=seen))
    assert items and not set(ids(items)) & seen
    if not fitted.impl.personal:
        category = data.categories[ids(items)[0]]
        flt = RecommendFilters(category=category, region="eu", exclude=seen)
        padded = model.recommend(None, 30, filters=flt)  # type: ignore[arg-type]
        assert padded and not set(ids(padded)) & seen
        assert {data.categories[a] for a in ids(padded)} == {category}


def test_recommending_changes_nothing(fitted: Fitted) -> None:
    model = fitted.model
    before = pickle.dumps(model)
    first = lists(model, fitted.data)
    assert pickle.dumps(model) == before
    assert lists(model, fitted.data) == first


def test_save_and_load_through_the_model_store(fitted: Fitted, store: ModelStore) -> None:
    model = copy.deepcopy(fitted.model)  # the shared fixture stays unsaved
    name = f"reco-{model.name}"
    assert model.model_name == name and model.model_key == f"{name}@unsaved"
    ref = model.save(store)
    assert ref.name == name and model.model_ref == ref
    assert model.model_key == str(ref) == f"{name}@{ref.version}"
    loaded = type(model).load(store, version=ref.version)
    assert type(loaded) is type(model) and loaded.model_key == model.model_key
    assert lists(loaded, fitted.data) == lists(fitted.model, fitted.data)
    # A later version: each load reports its own version, never the object's old one.
    newer = model.save(store)
    assert newer.version != ref.version and model.model_key == str(newer)
    assert type(model).load(store, version=ref.version).model_key == f"{name}@{ref.version}"
    assert type(model).load(store).model_key == f"{name}@{newer.version}"  # latest


def test_the_same_seed_gives_the_same_lists(fitted: Fitted) -> None:
    again = fit(fitted.impl, fitted.data)
    assert lists(again.model, fitted.data) == lists(fitted.model, fitted.data)
