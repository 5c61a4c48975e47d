"""Recommender training pipeline (``train.recommender``, ``agora train recommender``).

Built from the recommend package's public pieces (its models, hybrid blend
and metrics), wrapped in the MLOps workflow:

1. interactions of the window (default 28 days), split in time: the holdout is
   what users did in the last 24 hours, the training matrix is everything
   before (decay-weighted as of the cut, the feature store's weights and
   half-life; consenting users only when ``train_requires_consent``);
2. every collaborative algorithm the recommend package configures
   (``collaborative_models``: EASE, item-kNN, ALS, BPR, ...), the content
   model (when the search indexes hold vectors), the PyTorch models
   (``transformer`` on the window's time-ordered events, ``neural_cf``,
   ``graph``) and the hybrid blend are fitted on the training matrix;
3. NDCG@10 (Microsoft Recommenders' definition, ``agora.recommend.metrics``)
   on the holdout users: assets they engaged with after the cut and had not
   seen before, scored for the candidate and the champion alike;
4. each version is registered as ``reco-<algorithm>`` and gated on NDCG@10;
   the recommend service serves the champion (or the canary challenger).

A registered version never saw its own holdout; since the next run's holdout
starts after this one's, a champion is never scored on data it trained on.

The pipeline takes :class:`RecommenderTraining`; the ``train.recommender`` task
entry point (``agora.mlops.training.tasks``) builds it from the platform.

Example:
    $ agora train recommender
    >>> train_recommender(services)["models"]["hybrid"]["decision"]  # doctest: +SKIP
    'challenger'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from agora.errors import InvalidInput
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    TrainingServices,
    champion_metrics,
    guarded,
    parse_end,
    register_and_gate,
)
from agora.storage.tables import ConsentRow, InteractionRow, stored_utc

if TYPE_CHECKING:
    from agora.recommend.base import InteractionMatrix, Recommender
    from agora.search.backends import SearchBackends

K = 10
MIN_HOLDOUT_USERS = 5


@dataclass(frozen=True)
class RecommenderTraining(TrainingServices):
    """What the recommender pipeline uses: the training services, plus the search
    backends (getter: the content model reads the indexes' asset vectors) and
    ``reload_served``, which makes this process's recommendation service drop its
    cached models and lists (a no-op where none runs)."""

    search_backends: Callable[[], SearchBackends]
    reload_served: Callable[[], None]


def time_split(
    services: TrainingServices, *, start: datetime, cut: datetime, end: datetime
) -> tuple[InteractionMatrix, dict[str, set[str]], str, int]:
    """(training matrix before ``cut``, holdout truth per user, snapshot id, max id)."""
    from agora.recommend.base import InteractionMatrix
    from agora.recommend.data import decay_weight

    f = services.settings.features
    weights = {t: w for t, w in f.affinity_weights.items() if w > 0}
    with services.db.session() as s:
        q = select(
            InteractionRow.user_id, InteractionRow.asset_id, InteractionRow.type, InteractionRow.ts
        ).where(
            InteractionRow.ts >= start,
            InteractionRow.ts < end,
            InteractionRow.type.in_(list(weights)),
        )
        if services.settings.recommend.train_requires_consent:
            allowed = select(ConsentRow.user_id).where(ConsentRow.allows_model_training)
            q = q.where(InteractionRow.user_id.in_(allowed))
        rows = s.execute(q).all()
        lo, hi = s.execute(
            select(func.min(InteractionRow.id), func.max(InteractionRow.id)).where(
                InteractionRow.ts >= start, InteractionRow.ts < end
            )
        ).one()
    cut_s, half_life = cut.timestamp(), f.affinity_half_life_s
    triples = []
    later: dict[str, set[str]] = defaultdict(set)
    for user, asset, etype, ts in rows:
        at = stored_utc(ts).timestamp()
        if at < cut_s:
            w = decay_weight(age_s=cut_s - at, half_life_s=half_life, base=weights[etype])
            triples.append((user, asset, w))
        else:
            later[user].add(asset)
    if not triples:
        raise InvalidInput(f"no interactions before the holdout cut {cut.isoformat()}")
    data = InteractionMatrix.from_triples(triples)
    truth = {
        u: items - set(data.items_of(u))
        for u, items in later.items()
        if u in data.user_index and items - set(data.items_of(u))
    }
    if len(truth) < MIN_HOLDOUT_USERS:
        raise InvalidInput(
            f"only {len(truth)} known users engaged with new assets after {cut.isoformat()} "
            f"(need >= {MIN_HOLDOUT_USERS} for a holdout)"
        )
    snapshot = (
        f"interactions:{lo}-{hi}@{start.isoformat()}..{end.isoformat()};holdout>={cut.isoformat()}"
    )
    return data, truth, snapshot, int(hi or 0)


def holdout_metrics(model: Recommender, truth: dict[str, set[str]]) -> dict[str, float]:
    """precision/recall/NDCG/MAP@10 of ``model`` on the holdout users."""
    from agora.recommend.metrics import ranking_metrics

    predictions = {u: [i.asset_id for i in model.recommend(u, K, exclude_seen=True)] for u in truth}
    return ranking_metrics(predictions, truth, k=K)


def _gate_one(
    services: TrainingServices,
    ctx: TaskContext,
    model: Recommender,
    truth: dict[str, set[str]],
    snapshot: str,
    max_id: int,
    *,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    job = getattr(ctx, "job_id", None)
    run = TrainingRun.start(
        services,
        model.model_name,
        "recommender",
        reason=reason,
        run_id=f"{job}-{model.name}" if job else None,
    )

    def body() -> TrainingOutcome:
        run.update(interactions_max_id=max_id, data_snapshot=snapshot)
        metrics = holdout_metrics(model, truth) | {"holdout_users": float(len(truth))}

        def score_champion(champion: Any) -> dict[str, float] | None:
            return holdout_metrics(champion, truth)

        cls = type(model)
        champion = champion_metrics(
            services,
            model.model_name,
            score_champion,
            load=lambda v: cls.load(services.models, version=v),
        )
        return register_and_gate(
            services,
            run,
            save=lambda m, snap: model.save(services.models, metrics=m, data_snapshot=snap),
            metrics=metrics,
            champion=champion,
            reference=None,
            feature_names=["interactions.decay_weighted"],
            snapshot=snapshot,
            actor=actor,
        )

    return guarded(run, body)


def train_recommender(
    services: RecommenderTraining,
    ctx: TaskContext | None = None,
    *,
    end: str | None = None,
    days: float | None = None,
    tune: bool = True,
    reason: str = "manual",
    actor: str = "pipeline:train.recommender",
) -> dict[str, Any]:
    """Fit, evaluate, register and gate every collaborative recommender and the hybrid."""
    from agora.recommend.jobs import content_model, fit_product_hybrid, side_info
    from agora.recommend.registry import collaborative_models, hybrid_components

    ctx = ctx or TaskContext()
    ml = services.settings.mlops
    end_ts = parse_end(end)
    cut = end_ts - timedelta(hours=ml.holdout_hours)
    data, truth, snapshot, max_id = time_split(
        services, start=end_ts - timedelta(days=days or ml.train_window_days), cut=cut, end=end_ts
    )
    ctx.progress(10, f"{len(data)} user-asset pairs, {len(truth)} holdout users ({snapshot})")
    settings = services.settings.recommend
    models: list[Recommender] = list(collaborative_models(settings).values())
    out: dict[str, Any] = {}
    steps = len(models) + 2
    for i, model in enumerate(models):
        model.fit(data)
        out[model.name] = _gate_one(
            services, ctx, model, truth, snapshot, max_id, reason=reason, actor=actor
        )
        ctx.progress(10 + 85 * (i + 1) / steps, f"{model.name}: {out[model.name]['decision']}")
    # The content model (a bandit arm) exists only when the search indexes hold vectors.
    content = content_model(services.db, services.search_backends(), data)
    if content is not None:
        out[content.name] = _gate_one(
            services, ctx, content, truth, snapshot, max_id, reason=reason, actor=actor
        )
    # The PyTorch models; the transformer learns from the same window's events in
    # time order, its item table seeded with the content vectors.
    from agora.recommend.jobs import content_vectors
    from agora.recommend.sequences import catalog_histories, fit_neural_models

    positive = [t for t, w in services.settings.features.affinity_weights.items() if w > 0]
    start = end_ts - timedelta(days=days or ml.train_window_days)
    sequences = catalog_histories(services.db, positive, since=start, until=cut)
    for model in fit_neural_models(data, sequences, content_vectors(content)):
        out[model.name] = _gate_one(
            services, ctx, model, truth, snapshot, max_id, reason=reason, actor=actor
        )
        ctx.progress(90, f"{model.name}: {out[model.name]['decision']}")
    # The hybrid's own components (no BPR: it would be fitted once per fold again).
    side = side_info(services.db, services.settings.features.affinity_weights, data, until=cut)
    hybrid = fit_product_hybrid(
        data,
        hybrid_components(settings),
        side,
        tune=tune,
        reranker=settings.hybrid_reranker,
        # Only the re-ranker uses the content model.
        content=content if settings.hybrid_reranker == "ltr" else None,
    )
    out[hybrid.name] = _gate_one(
        services, ctx, hybrid, truth, snapshot, max_id, reason=reason, actor=actor
    )
    services.reload_served()  # drop cached models and lists
    ctx.progress(100, f"hybrid: {out[hybrid.name]['decision']}")
    return {"models": out, "data_snapshot": snapshot, "holdout_users": len(truth)}
