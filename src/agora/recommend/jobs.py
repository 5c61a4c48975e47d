"""Scheduled and operator jobs: train, refresh trending, precompute lists, settle bandit rewards.

Plain functions of :class:`JobServices` (built from the platform by
``agora.recommend.tasks.job_services``), so the MLOps scheduler, the CLI and
tests call the same code:

- :func:`train` fits every algorithm on the decay-weighted matrix and saves a
  version of each in the model store (the hybrid's re-ranker, or its blend
  weights on small data, is learned on validation splits carved from the
  same data: :func:`fit_product_hybrid`). Ungated, it only bootstraps a
  platform with no champion (the latest version serves until one exists);
  every retrain goes through the gated ``train.recommender`` pipeline;
- :func:`refresh_trending` recomputes the trending lists (hourly);
- :func:`precompute` stores lists for active users (every 2 h);
- :func:`settle_rewards` attributes clicks/purchases to bandit servings.

Example:
    >>> services = job_services(platform)  # doctest: +SKIP
    >>> refs = train(services)  # doctest: +SKIP
    >>> refresh_trending(services); precompute(services)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import delete, func, select

from agora.domain import ModelRef
from agora.recommend.bandit import attribute_rewards
from agora.recommend.base import InteractionMatrix
from agora.recommend.blend import search_weights
from agora.recommend.canary_log import settle_canary_servings
from agora.recommend.content import ContentRecommender
from agora.recommend.data import decay_weighted_matrix
from agora.recommend.embeddings import asset_embeddings
from agora.recommend.hybrid import HybridRecommender
from agora.recommend.ltr import LtrHybridRecommender
from agora.recommend.registry import (
    NEURAL_MODELS,
    PERSONAL_ARMS,
    collaborative_models,
    hybrid_components,
)
from agora.recommend.sequences import catalog_histories, fit_neural_models
from agora.recommend.side_info import SideInfo
from agora.recommend.tables import RecoListRow
from agora.recommend.trending_store import compute_trending, save_trending
from agora.storage.database import Database
from agora.storage.tables import AssetRow, ConsentRow, InteractionRow, UserRow, stored_utc

if TYPE_CHECKING:
    from collections.abc import Mapping

    from agora.config import FeatureSettings, RecommendSettings
    from agora.mlops.base import ModelStore
    from agora.recommend.service import RecommendationService
    from agora.search.backends import SearchBackends

log = logging.getLogger(__name__)
MIN_USERS_TO_TUNE = 20
LTR_MIN_USERS = 200


@dataclass(frozen=True)
class JobServices:
    """What the jobs work with. The model store, the search backends and the serving
    service are getters: a job builds only what it uses (trending needs none).

    ``reload_served`` makes this process's recommendation service drop its cached
    models and lists (a no-op where none was built).
    """

    db: Database
    recommend: RecommendSettings
    features: FeatureSettings
    models: Callable[[], ModelStore]
    search_backends: Callable[[], SearchBackends]
    recommendations: Callable[[], RecommendationService]
    reload_served: Callable[[], None]


def training_matrix(
    db: Database,
    features: FeatureSettings,
    *,
    consented_only: bool,
    now: datetime | None = None,
) -> InteractionMatrix:
    """The decay-weighted matrix (only users who allow model training when ``consented_only``)."""
    f = features
    data = decay_weighted_matrix(
        db, weights=f.affinity_weights, half_life_s=f.affinity_half_life_s, now=now
    )
    if not consented_only:
        return data
    with db.session() as s:
        allowed = set(s.scalars(select(ConsentRow.user_id).where(ConsentRow.allows_model_training)))
    keep = [i for i, u in enumerate(data.user_ids) if u in allowed]
    return InteractionMatrix(data.matrix[keep], [data.user_ids[i] for i in keep], data.item_ids)


def holdout(
    data: InteractionMatrix, ratio: float = 0.2, seed: int = 0
) -> tuple[InteractionMatrix, dict[str, set[str]]]:
    """Per-user random split of ``data``: (train part, held-out assets per user)."""
    rng = random.Random(seed)
    m = data.matrix.tocoo()
    by_user: dict[int, list[int]] = defaultdict(list)
    for k, u in enumerate(m.row.tolist()):
        by_user[u].append(k)
    train_k: list[int] = []
    truth: dict[str, set[str]] = {}
    for u, ks in by_user.items():
        rng.shuffle(ks)
        cut = len(ks) - round(ratio * len(ks)) if len(ks) >= 3 else len(ks)
        train_k += ks[:cut]
        if ks[cut:]:
            truth[data.user_ids[u]] = {data.item_ids[m.col[k]] for k in ks[cut:]}
    sub = sp.csr_matrix((m.data[train_k], (m.row[train_k], m.col[train_k])), shape=m.shape)
    return InteractionMatrix(sub, data.user_ids, data.item_ids), truth


def fit_hybrid(
    data: InteractionMatrix,
    components: dict[str, Any],
    *,
    tune: bool = True,
    seed: int = 0,
    folds: int = 2,
) -> HybridRecommender:
    """Learn blend weights on validation splits of ``data``, then refit on all of it.

    Each of ``folds`` per-user 80/20 splits (different seeds) fits a probe
    hybrid on its 80% and scores its 20%; the weights maximise NDCG@10
    averaged over the folds (``agora.recommend.blend.search_weights``).
    """
    weights = None
    if tune and len(data.user_ids) >= MIN_USERS_TO_TUNE:
        tables = []
        for fold in range(folds):
            part, truth = holdout(data, seed=seed + fold)
            probe = HybridRecommender({k: _clone(v) for k, v in components.items()}).fit(part)
            tables.append(probe.blend_table(truth, seed=seed + fold))
        weights = search_weights(tables)
        log.info("hybrid blend weights: %s", weights)
    return HybridRecommender(components, weights).fit(data)


def side_info(
    db: Database,
    weights: Mapping[str, float],
    data: InteractionMatrix,
    *,
    until: datetime | None = None,
) -> SideInfo:
    """Catalog categories and listing times, user attributes (+ region), latest interaction times.

    ``weights``: the affinity weight of each interaction type (those above 0
    count). ``until`` bounds the interaction times (a time split's cut), so a
    holdout's events never leak into the ranker's features.
    """
    kept = [t for t, w in weights.items() if w > 0]
    q = (
        select(InteractionRow.user_id, InteractionRow.asset_id, func.max(InteractionRow.ts))
        .where(InteractionRow.type.in_(kept))
        .group_by(InteractionRow.user_id, InteractionRow.asset_id)
    )
    if until is not None:
        q = q.where(InteractionRow.ts < until)
    with db.session() as s:
        categories: dict[str, list[str]] = {}
        # An asset's listing time is its publication time: whether a user
        # follows new listings or older ones is a taste no co-occurrence carries.
        published: dict[str, float] = {}
        for aid, category, created in s.execute(
            select(AssetRow.id, AssetRow.category, AssetRow.created_at)
        ):
            if category:
                categories[aid] = [category]
            if aid in data.item_index and created is not None:
                published[aid] = stored_utc(created).timestamp()
        attrs: dict[str, dict[str, Any]] = {}
        for uid, extra, region in s.execute(select(UserRow.id, UserRow.attributes, UserRow.region)):
            if uid in data.user_index:
                row = {k: v for k, v in (extra or {}).items() if isinstance(v, str | int | float)}
                attrs[uid] = row | ({"region": region} if region else {})
        rows, cols, vals = [], [], []
        for uid, aid, ts in s.execute(q):
            if uid in data.user_index and aid in data.item_index:
                rows.append(data.user_index[uid])
                cols.append(data.item_index[aid])
                vals.append(stored_utc(ts).timestamp())
    times = sp.csr_matrix((vals, (rows, cols)), shape=data.shape) if vals else None
    return SideInfo(categories, attrs, times, item_times=published)


def fit_product_hybrid(
    data: InteractionMatrix,
    components: dict[str, Any],
    side: SideInfo | None = None,
    *,
    tune: bool = True,
    seed: int = 0,
    reranker: str = "ltr",
    content: ContentRecommender | None = None,
) -> HybridRecommender:
    """The platform's hybrid: the blend, or (``reranker="ltr"``) the learning-to-rank re-ranker.

    The re-ranker is the default (``recommend.hybrid_reranker``): on
    MovieLens-100k it ranks better than the blend (0.500 against 0.490
    NDCG@10) and fits ~20x slower (README). ``content`` adds the
    asset's similarity to the user's embedding profile to the re-ranker's
    features. Below ``LTR_MIN_USERS`` (or with ``tune=False``) the blend of
    :func:`fit_hybrid` serves either way: a ranker learned from a few dozen
    users' holdouts is noise.
    """
    if reranker == "ltr" and tune and len(data.user_ids) >= LTR_MIN_USERS:
        return LtrHybridRecommender(components, seed=seed, content=content).fit(data, side)
    return fit_hybrid(data, components, tune=tune, seed=seed)


def _clone(model: Any) -> Any:
    import copy

    return copy.deepcopy(model)


def train(
    services: JobServices, *, tune: bool = True, now: datetime | None = None
) -> dict[str, ModelRef]:
    """Fit and save every algorithm; returns the saved versions.

    Only while no ``reco-*`` model has a champion (``InvalidInput`` after):
    retraining is the gated ``train.recommender`` pipeline's job.
    """
    from agora.mlops.registry import ModelRegistry
    from agora.mlops.training.pipeline import require_no_champion

    cfg, db, store = services.recommend, services.db, services.models()
    names = [f"reco-{n}" for n in (*collaborative_models(cfg), *NEURAL_MODELS)]
    require_no_champion(
        ModelRegistry(store, db), [*names, "reco-content", "reco-hybrid"], "train.recommender"
    )
    data = training_matrix(
        db, services.features, consented_only=cfg.train_requires_consent, now=now
    )
    if len(data) == 0:
        log.warning("no interactions: nothing to train")
        return {}
    snapshot = f"interactions@{(now or datetime.now(UTC)).isoformat(timespec='seconds')}"
    refs: dict[str, ModelRef] = {}
    models = collaborative_models(cfg)
    for name, model in models.items():
        model.fit(data)
        refs[name] = model.save(store, data_snapshot=snapshot)
    content = content_model(db, services.search_backends(), data)
    if content is not None:
        refs["content"] = content.save(store, data_snapshot=snapshot)
    positive = [t for t, w in services.features.affinity_weights.items() if w > 0]
    sequences = catalog_histories(db, positive, until=now)
    for neural in fit_neural_models(data, sequences, content_vectors(content)):
        refs[neural.name] = neural.save(store, data_snapshot=snapshot)
    side = side_info(db, services.features.affinity_weights, data)
    hybrid = fit_product_hybrid(
        data,
        hybrid_components(cfg),
        side,
        tune=tune,
        reranker=cfg.hybrid_reranker,
        content=content,
    )
    refs["hybrid"] = hybrid.save(store, data_snapshot=snapshot)
    services.reload_served()
    return refs


def content_model(
    db: Database, backends: SearchBackends, data: InteractionMatrix
) -> ContentRecommender | None:
    """The content model over the search indexes' asset vectors; None when they hold none."""
    with db.session() as s:
        asset_ids = list(s.scalars(select(AssetRow.id)))
    embeddings = asset_embeddings(backends, asset_ids)
    return ContentRecommender().fit(data, embeddings=embeddings) if embeddings else None


def content_vectors(content: ContentRecommender | None) -> dict[str, np.ndarray] | None:
    """asset -> content vector of a fitted content model (None without one)."""
    if content is None or not content.ready:
        return None
    return {a: content.vectors[i] for i, a in enumerate(content.item_ids)}


# -- trending -----------------------------------------------------------------
def refresh_trending(services: JobServices, now: datetime | None = None) -> dict[str, int]:
    """Recompute and store trending (the scheduler runs it hourly)."""
    model = compute_trending(
        services.db, services.recommend, services.features.affinity_weights, now
    )
    save_trending(services.db, model)
    services.reload_served()
    return {"lists": len(model.trending) + len(model.popular)}


# -- precompute ---------------------------------------------------------------
def active_users(
    db: Database, settings: RecommendSettings, now: datetime | None = None
) -> list[str]:
    """Users with at least ``active_min_events`` interactions in the last ``active_days``."""
    s_ = settings
    since = (now or datetime.now(UTC)) - timedelta(days=s_.active_days)
    with db.session() as s:
        return list(
            s.scalars(
                select(InteractionRow.user_id)
                .where(InteractionRow.ts >= since)
                .group_by(InteractionRow.user_id)
                .having(func.count() >= s_.active_min_events)
            )
        )


def precompute(
    services: JobServices,
    *,
    n: int = 100,
    now: datetime | None = None,
    users: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, int]:
    """Store unfiltered candidate lists of every available arm (or of ``arms``)
    for active users (or for ``users``: only their lists are replaced, and the
    served-list cache is left to the caller, who refreshes those users' lists).

    Filters run at serving time (the catalog may change in between), so lists
    are kept longer than served (``n``). ``progress`` gets the fraction done."""
    service, db = services.recommendations(), services.db
    chosen = users
    users = active_users(db, services.recommend, now) if chosen is None else list(chosen)
    arms = [a for a in service.available_arms() if a in PERSONAL_ARMS and (not arms or a in arms)]
    stamp = now or datetime.now(UTC)
    written = 0
    from agora.recommend.data import user_history

    f = services.features
    for arm in arms:
        model = service.model(arm)
        rows = []
        for k, user in enumerate(users):
            if progress is not None:
                progress((arms.index(arm) * len(users) + k) / (len(arms) * len(users)))
            history = user_history(
                db, user, weights=f.affinity_weights, half_life_s=f.affinity_half_life_s
            )
            items = service._score(model, user, history, [], n, None)
            rows.append(
                RecoListRow(
                    kind=f"user:{arm}",
                    key=user,
                    items=[[i.asset_id, i.score, i.source] for i in items],
                    model=model.model_key,
                    computed_at=stamp,
                )
            )
        replaced = delete(RecoListRow).where(RecoListRow.kind == f"user:{arm}")
        if chosen is not None:
            replaced = replaced.where(RecoListRow.key.in_(users))
        with db.session() as s, s.begin():
            s.execute(replaced)
            s.add_all(rows)
        written += len(rows)
    if chosen is None:
        service.cache.clear()
    return {"users": len(users), "lists": written}


def settle_rewards(services: JobServices, now: datetime | None = None) -> dict[str, int]:
    """Attribute engagement to bandit servings and to the lists of versions under
    canary (scheduler: every few minutes)."""
    bandit = attribute_rewards(services.recommendations().bandit, now=now)
    canary = settle_canary_servings(services.db, now=now)
    return {**bandit, **{f"canary_{k}": v for k, v in canary.items()}}
