"""Continuous-training triggers (seed 001): retrain a model when more than
``retrain_new_interactions`` interactions arrived since its last training, or
when PSI on any monitored input feature (or its score) exceeds ``retrain_psi``.

Drift is measured on the champion: its ``drift_reference.npz`` (the training
features plus the model score, attached at registration) against the feature
vectors the ranking service served in the recent window (``drift_window_hours``,
read from the feature log, so exactly what the model saw) and its scores.

The triggers (and ``agora.mlops.drift_status``) read from ``DriftSources``: the
catalog, the model store and registry and the ``mlops`` settings, built at the edge.

Example:
    >>> RetrainTriggers(platform.drift_sources()).check("ranking-pctr")  # doctest: +SKIP
    TriggerDecision(model='ranking-pctr', retrain=True, reasons=['psi 0.41 on ...'], ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from agora.errors import InvalidInput, NotFound
from agora.mlops.drift import DriftReference, DriftReport
from agora.mlops.tables import TrainingRunRow
from agora.mlops.training.pipeline import DRIFT_REFERENCE
from agora.storage.tables import InteractionRow

if TYPE_CHECKING:
    from agora.config import MlopsSettings
    from agora.mlops.base import ModelStore
    from agora.mlops.registry import ModelRegistry
    from agora.storage.database import Database

# Which task retrains a model (others: "train.<family>").
MODEL_TASKS = {
    "ranking-pctr": "train.ctr",
    "ranking-pcvr": "train.cvr",
    "ranking-lambdamart": "train.ranker",
}


@dataclass(frozen=True)
class DriftSources:
    """What measuring a model's drift reads. ``models`` and ``registry`` are getters,
    so a check with no trained model never opens the model store;
    ``flush_served`` writes the served features this process still buffers (the
    drift window must include them)."""

    db: Database
    mlops: MlopsSettings
    models: Callable[[], ModelStore]
    registry: Callable[[], ModelRegistry]
    flush_served: Callable[[], None]


def trained_models(db: Database) -> dict[str, str]:
    """Model name -> family, for every model a pipeline has trained here."""
    with db.session() as s:
        rows = s.execute(select(TrainingRunRow.model_name, TrainingRunRow.family).distinct()).all()
    return dict(rows)


def served_current_features(sources: DriftSources, model: Any) -> NDArray[np.float64]:
    """The features of the organic slots served in the drift window, exactly as
    served (the feature log), plus the model's score: the drift 'current'."""
    from agora.ranking.feature_log import FeatureLog, matrix_of

    since = datetime.now(UTC) - timedelta(hours=sources.mlops.drift_window_hours)
    sources.flush_served()
    names = list(getattr(model, "feature_names", None) or [])
    served = FeatureLog(sources.db).served(since=since)
    if len(served):
        served = served[
            ~served["sponsored"].astype(bool)
            & served["feature_names"].map(lambda n: list(n or []) == names)
            & (served["features"].map(len) == len(names))
        ]
    if not len(served):
        raise InvalidInput("no lists served with the model's features in the drift window")
    matrix = matrix_of(served)
    return np.column_stack([matrix, model.predict(matrix)])


# Family of the training run -> how to compute a model's current inputs.
CURRENT_FEATURES: dict[str, Callable[[DriftSources, Any], NDArray[np.float64]]] = {
    "ctr": served_current_features,
    "ranker": served_current_features,
}


@dataclass(frozen=True)
class TriggerDecision:
    model: str
    task: str
    retrain: bool
    reasons: list[str] = field(default_factory=list)
    new_interactions: int = 0
    max_psi: float | None = None
    max_psi_feature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": self.task,
            "retrain": self.retrain,
            "reasons": self.reasons,
            "new_interactions": self.new_interactions,
            "max_psi": self.max_psi,
            "max_psi_feature": self.max_psi_feature,
        }


class RetrainTriggers:
    """Evaluate the two retraining triggers for trained models."""

    def __init__(self, sources: DriftSources) -> None:
        self.sources = sources

    def trained_models(self) -> dict[str, str]:
        """Model name -> family, for every model a pipeline has trained here."""
        return trained_models(self.sources.db)

    def new_interactions(self, model: str) -> int:
        """Interactions recorded since the model's last successful training."""
        with self.sources.db.session() as s:
            last = s.scalar(
                select(func.max(TrainingRunRow.interactions_max_id)).where(
                    TrainingRunRow.model_name == model, TrainingRunRow.status == "succeeded"
                )
            )
            return int(
                s.scalar(select(func.count()).where(InteractionRow.id > int(last or 0))) or 0
            )

    def drift(self, model: str, family: str) -> tuple[str, DriftReport] | None:
        """The champion's drift report, or None when it cannot be measured."""
        source = CURRENT_FEATURES.get(family)
        champion = self.sources.registry().deployment(model).champion
        if source is None or champion is None:
            return None
        models = self.sources.models()
        try:
            path = models.attachment(model, champion, DRIFT_REFERENCE)
        except NotFound:
            return None
        reference = DriftReference.load(path)
        current = source(self.sources, models.load(model, version=champion))
        return champion, reference.compare(current, psi_threshold=self.sources.mlops.retrain_psi)

    def check(self, model: str, family: str | None = None) -> TriggerDecision:
        ml = self.sources.mlops
        family = family or self.trained_models().get(model, "ctr")
        task = MODEL_TASKS.get(model, f"train.{family}")
        reasons = []
        fresh = self.new_interactions(model)
        if fresh > ml.retrain_new_interactions:
            reasons.append(f"{fresh} new interactions > {ml.retrain_new_interactions}")
        max_psi = feature = None
        try:
            measured = self.drift(model, family)
        except InvalidInput:  # no recent data: nothing has drifted
            measured = None
        if measured is not None:
            _, report = measured
            worst = report.by_psi()[0]
            max_psi, feature = worst.psi, worst.name
            if worst.psi > ml.retrain_psi:
                reasons.append(f"psi {worst.psi:.3f} on {worst.name} > {ml.retrain_psi}")
        return TriggerDecision(model, task, bool(reasons), reasons, fresh, max_psi, feature)
