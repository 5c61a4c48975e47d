"""pCTR and pCVR training pipelines (LightGBM ``CtrModel`` from ``agora.ranking``).

Steps (progress through the job): extract the window's interactions (default
last 28 days) -> the served-list feature log of the window, labelled (click,
or purchase for pCVR, within the 1-hour attribution window) -> split: holdout
= the last 24 hours -> train (tree count by early stopping on the latest 20% of
the training rows) -> evaluate (AUC, log-loss) on the holdout, the
champion too -> register under the ranking service's names (``ranking-pctr``,
``ranking-pcvr``) with the serving feature list -> gate.

A version registered here is exactly what the ranking service serves: same
rows, same feature list (``agora.ranking.hydration.FEATURES``), same names.

The pipelines take :class:`RankingTraining`; the ``train.ctr``/``train.cvr``
task entry points (``agora.mlops.training.tasks``) build it from the platform.

Example:
    $ agora train ctr
    >>> train_ctr(services, end="2026-11-20T00:00:00Z")  # doctest: +SKIP
    {'model': 'ranking-pctr@4', 'decision': 'challenger', ...}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from agora.errors import InvalidInput
from agora.mlops.evaluation import binary_metrics
from agora.mlops.tasks import TaskContext
from agora.mlops.training.data import (
    ServedTrainingSet,
    extract_interactions,
    served_training_set,
)
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    TrainingServices,
    champion_metrics,
    gate_tabular_model,
    guarded,
    parse_end,
)

MIN_TRAIN_ROWS = 50
EARLY_STOPPING_SHARE = 0.2


@dataclass(frozen=True)
class RankingTraining(TrainingServices):
    """What the ranking models' pipelines (pCTR, pCVR, LambdaMART) use: the training
    services, plus ``flush_served``, which writes out the served lists this process's
    ranking service still queues (so the window holds them; a no-op where none runs)."""

    flush_served: Callable[[], None]


def load_served(
    services: RankingTraining,
    ctx: TaskContext,
    run: TrainingRun,
    *,
    end: Any,
    days: float | None,
) -> tuple[ServedTrainingSet, NDArray[np.bool_]]:
    """Extract and label the window's served lists; returns (data, holdout mask)."""
    ml = services.settings.mlops
    end_ts: datetime = parse_end(end)
    services.flush_served()
    db = services.db
    window = extract_interactions(db, end=end_ts, days=days or ml.train_window_days)
    ctx.progress(10, f"extracted {len(window.events)} events ({window.snapshot})")
    data = served_training_set(db, window, attribution=timedelta(seconds=ml.attribution_s))
    ctx.progress(35, f"labelled {len(data)} served slots ({len(data.feature_names)} features)")
    holdout = data.holdout_mask(end_ts - timedelta(hours=ml.holdout_hours))
    run.update(interactions_max_id=window.max_id, data_snapshot=data.snapshot)
    return data, holdout


def check_split(train: NDArray[np.bool_], holdout: NDArray[np.bool_]) -> None:
    if train.sum() < MIN_TRAIN_ROWS or holdout.sum() == 0:
        raise InvalidInput(
            f"not enough data: {int(train.sum())} training and {int(holdout.sum())} "
            f"holdout slots (need >= {MIN_TRAIN_ROWS} and >= 1)"
        )


def early_stopping_split(
    data: ServedTrainingSet, train: NDArray[np.bool_], share: float = EARLY_STOPPING_SHARE
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(fit rows, early-stopping rows): the latest ``share`` of the training rows in time,
    so the tree count is picked on data after what it was fitted on, as in serving."""
    ts = pd.to_datetime(data.frame["ts"], utc=True).to_numpy(dtype="datetime64[ns]").astype("int64")
    if train.sum() < 2 * MIN_TRAIN_ROWS:
        return train, np.zeros_like(train)
    cut = np.quantile(ts[train], 1.0 - share)
    stop = train & (ts > cut)
    if not stop.any() or stop.sum() == train.sum():
        return train, np.zeros_like(train)
    return train & ~stop, stop


def same_features(model: Any, names: list[str]) -> bool:
    """Whether a loaded version was trained on ``names`` (in that order)."""
    return list(getattr(model, "feature_names", None) or []) == names


def _train_binary(
    services: RankingTraining,
    ctx: TaskContext | None,
    *,
    model_name: str,
    label: str,
    end: Any,
    days: float | None,
    n_estimators: int,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    from agora.ranking.models import CtrModel

    ctx = ctx or TaskContext()
    run = TrainingRun.start(
        services, model_name, "ctr", reason=reason, run_id=getattr(ctx, "job_id", None)
    )

    def body() -> TrainingOutcome:
        data, holdout = load_served(services, ctx, run, end=end, days=days)
        x, names = data.matrix, data.feature_names
        y = data.frame[label].to_numpy(dtype=np.int64)
        train = ~holdout
        check_split(train, holdout)
        fit, stop = early_stopping_split(data, train)
        model = CtrModel(name=model_name, n_estimators=n_estimators).fit(
            x[fit], y[fit], feature_names=names, valid=(x[stop], y[stop]) if stop.any() else None
        )
        ctx.progress(70, f"trained on {int(fit.sum())} served slots, {model.best_iteration} trees")
        metrics = binary_metrics(y[holdout], model.predict(x[holdout]))
        metrics |= {"train_rows": float(train.sum()), "holdout_rows": float(holdout.sum())}

        def score_champion(champion: Any) -> dict[str, float] | None:
            if not same_features(champion, names):
                return None  # not servable with today's features: its registered figures
            return binary_metrics(y[holdout], champion.predict(x[holdout]))

        champion = champion_metrics(services, model_name, score_champion)
        ctx.progress(80, f"holdout AUC {metrics['auc']:.4f}, log-loss {metrics['logloss']:.4f}")
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


def train_ctr(
    services: RankingTraining,
    ctx: TaskContext | None = None,
    *,
    end: str | None = None,
    days: float | None = None,
    n_estimators: int = 60,
    model_name: str | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.ctr",
) -> dict[str, Any]:
    """Train, register and gate the pCTR model (label: click within the window)."""
    from agora.ranking.models import PCTR_MODEL

    return _train_binary(
        services,
        ctx,
        model_name=model_name or PCTR_MODEL,
        label="clicked",
        end=end,
        days=days,
        n_estimators=n_estimators,
        reason=reason,
        actor=actor,
    )


def train_cvr(
    services: RankingTraining,
    ctx: TaskContext | None = None,
    *,
    end: str | None = None,
    days: float | None = None,
    n_estimators: int = 60,
    model_name: str | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.cvr",
) -> dict[str, Any]:
    """Train, register and gate the pCVR model (label: purchase within the window)."""
    from agora.ranking.models import PCVR_MODEL

    return _train_binary(
        services,
        ctx,
        model_name=model_name or PCVR_MODEL,
        label="purchased",
        end=end,
        days=days,
        n_estimators=n_estimators,
        reason=reason,
        actor=actor,
    )
