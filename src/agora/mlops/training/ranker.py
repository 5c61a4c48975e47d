"""LambdaMART ranker training pipeline (``train.ranker``, ``agora train ranker``).

The same served-list feature log as pCTR/pCVR (``agora.mlops.training.data``):
one query group per served list, graded relevance clicked + purchased (0, 1,
2) within the attribution window, holdout = the lists served in the last 24
hours. The gate is NDCG@20 on the holdout lists (those with at least one
relevant slot), the candidate and the champion scored on the same lists; the
version is registered as ``ranking-lambdamart``, which the ranking service
serves when ``ranking.scorer = "lambdamart"``. The ``train.ranker`` task entry
point (``agora.mlops.training.tasks``) builds its ``RankingTraining``.

Example:
    $ agora train ranker
    >>> train_ranker(services)["decision"]  # doctest: +SKIP
    'challenger'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agora.mlops.evaluation import grouped_ndcg
from agora.mlops.tasks import TaskContext
from agora.mlops.training.ctr import RankingTraining, check_split, load_served, same_features
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    champion_metrics,
    gate_tabular_model,
    guarded,
)

NDCG_AT = 20


def train_ranker(
    services: RankingTraining,
    ctx: TaskContext | None = None,
    *,
    end: str | None = None,
    days: float | None = None,
    n_estimators: int = 60,
    model_name: str | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.ranker",
) -> dict[str, Any]:
    """Train, register and gate the LambdaMART ranker on the served lists."""
    from agora.ranking.models import RANKER_MODEL, LambdaRanker

    name = model_name or RANKER_MODEL
    ctx = ctx or TaskContext()
    run = TrainingRun.start(
        services, name, "ranker", reason=reason, run_id=getattr(ctx, "job_id", None)
    )

    def body() -> TrainingOutcome:
        data, holdout = load_served(services, ctx, run, end=end, days=days)
        x, names = data.matrix, data.feature_names
        relevance = (data.frame["clicked"] + data.frame["purchased"]).to_numpy(dtype=np.int64)
        requests = data.frame["request_id"].to_numpy()
        train = ~holdout
        check_split(train, holdout)
        model = LambdaRanker(name=name, n_estimators=n_estimators).fit(
            x[train], relevance[train], group=data.groups(train), feature_names=names
        )
        ctx.progress(70, f"trained on {len(data.groups(train))} served lists")

        def ndcg(scores: np.ndarray) -> float:
            return grouped_ndcg(relevance[holdout], scores, requests[holdout], k=NDCG_AT)

        metrics = {
            f"ndcg@{NDCG_AT}": ndcg(model.predict(x[holdout])),
            "train_rows": float(train.sum()),
            "holdout_rows": float(holdout.sum()),
            "holdout_lists": float(len(data.groups(holdout))),
        }

        def score_champion(champion: Any) -> dict[str, float] | None:
            if not same_features(champion, names):
                return None
            return {f"ndcg@{NDCG_AT}": ndcg(champion.predict(x[holdout]))}

        champion = champion_metrics(services, name, score_champion)
        ctx.progress(80, f"holdout NDCG@{NDCG_AT} {metrics[f'ndcg@{NDCG_AT}']:.4f}")
        return gate_tabular_model(
            services,
            run,
            ctx,
            model,
            x_train=x[train],
            metrics=metrics,
            champion=champion,
            feature_names=names,
            snapshot=data.snapshot,
            actor=actor,
        )

    return guarded(run, body)
