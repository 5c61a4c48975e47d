"""Anomaly model training pipeline (``train.anomaly``, ``agora quality train-anomaly``).

The catalog's recorded ``scores`` results carry each asset's measured
properties; the newest result per asset is one row, labelled by the asset's
status (``banned`` or ``flagged``: held, 1; ``active``: 0). Rows are split by
time: the newest ``holdout_share`` are held out. The IsolationForest is fitted
on the *active* assets of the older part only (it learns what normal listings
look like, without labels), and evaluated on the held-out part: ROC-AUC of its
anomaly score between held and active assets (``auc``, the gated figure), and
the same on the training part (``auc_train``). Then registration, the drift
reference and the gate against the champion on the same holdout
(``agora.mlops.training.pipeline``). The ``scores`` step serves the champion.

The ``train.anomaly`` task entry point is ``agora.quality.risk.tasks.train_anomaly_task``.

Example:
    >>> train_anomaly(TrainingServices(settings, db, models))["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from agora.domain import AssetStatus
from agora.errors import InvalidInput
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    TrainingServices,
    champion_metrics,
    gate_tabular_model,
    guarded,
)
from agora.quality.risk.anomaly import PROPERTIES, AnomalyModel
from agora.storage.tables import AssetRow, ProcessingResultRow

HELD = (AssetStatus.BANNED.value, AssetStatus.FLAGGED.value)
MIN_ROWS = 20


def catalog_rows(services: TrainingServices) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(properties, held label, asset ids)`` of the newest ``scores`` result per
    asset, oldest first (removed assets left out)."""
    latest: dict[str, tuple[int, list[float], int]] = {}
    with services.db.session() as s:
        rows = s.execute(
            select(
                ProcessingResultRow.id,
                ProcessingResultRow.asset_id,
                ProcessingResultRow.output,
                AssetRow.status,
            )
            .join(AssetRow, AssetRow.id == ProcessingResultRow.asset_id)
            .where(
                ProcessingResultRow.step == "scores", AssetRow.status != AssetStatus.REMOVED.value
            )
            .order_by(ProcessingResultRow.id)
        ).tuples()
        for result_id, asset_id, output, status in rows:
            props = (output or {}).get("properties")
            if not isinstance(props, dict) or any(p not in props for p in PROPERTIES):
                continue  # an error result, or one recorded before these properties
            latest[asset_id] = (
                result_id,
                [float(props[p]) for p in PROPERTIES],
                int(status in HELD),
            )
    ordered = sorted(latest.items(), key=lambda kv: kv[1][0])
    x = np.array([v[1] for _, v in ordered], dtype=np.float64).reshape(-1, len(PROPERTIES))
    y = np.array([v[2] for _, v in ordered], dtype=np.int64)
    return x, y, [a for a, _ in ordered]


def _auc(model: AnomalyModel, x: np.ndarray, y: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, model.anomaly(x)))


def train_anomaly(
    services: TrainingServices,
    ctx: TaskContext | None = None,
    *,
    holdout_share: float = 0.3,
    n_estimators: int = 200,
    reason: str = "manual",
    actor: str = "pipeline:train.anomaly",
) -> dict[str, Any]:
    """Fit, evaluate on the newest assets, register and gate the anomaly model."""
    ctx = ctx or TaskContext()
    name = services.settings.scores.anomaly_model
    if not 0.0 < holdout_share < 1.0:
        raise InvalidInput("holdout_share must be between 0 and 1")
    x, y, _ = catalog_rows(services)
    cut = round(len(x) * (1.0 - holdout_share))
    x_train, y_train, x_test, y_test = x[:cut], y[:cut], x[cut:], y[cut:]
    clean = x_train[y_train == 0]
    if len(clean) < MIN_ROWS:
        raise InvalidInput(
            f"{len(clean)} active assets with scores in the training part; the anomaly "
            f"model needs {MIN_ROWS} (run the pipeline or `agora quality rescan` first)"
        )
    if len(np.unique(y_test)) < 2:
        raise InvalidInput(
            "the held-out (newest) assets need both held (banned/flagged) and active ones "
            "to evaluate the anomaly model"
        )
    run = TrainingRun.start(
        services, name, "anomaly", reason=reason, run_id=getattr(ctx, "job_id", None)
    )
    snapshot = (
        f"catalog scores results: {len(x)} assets ({int(y.sum())} held), "
        f"newest {len(x_test)} held out, fitted on {len(clean)} active"
    )

    def body() -> TrainingOutcome:
        ctx.progress(10, f"fitting IsolationForest on {len(clean)} active assets")
        model = AnomalyModel(n_estimators=n_estimators).fit(clean)
        metrics = {
            "auc": float(_auc(model, x_test, y_test) or 0.0),
            "train_rows": float(len(clean)),
            "test_rows": float(len(x_test)),
            "test_held": float(y_test.sum()),
        }
        train_auc = _auc(model, x_train, y_train)
        if train_auc is not None:
            metrics["auc_train"] = train_auc
        ctx.progress(70, f"holdout AUC {metrics['auc']:.3f}; scoring the champion")

        def champion_score(champ: Any) -> dict[str, float] | None:
            value = _auc(champ, x_test, y_test) if isinstance(champ, AnomalyModel) else None
            return None if value is None else {"auc": value}

        champion = champion_metrics(services, name, champion_score)
        return gate_tabular_model(
            services,
            run,
            ctx,
            _Saved(model, name),
            x_train=clean,
            metrics=metrics,
            champion=champion,
            feature_names=list(PROPERTIES),
            snapshot=snapshot,
            actor=actor,
        )

    return guarded(run, body)


class _Saved:
    """The model as ``gate_tabular_model`` drives it: ``predict`` for the drift
    reference (the anomaly signal), ``save`` into the model store."""

    def __init__(self, model: AnomalyModel, name: str) -> None:
        self.model, self.name = model, name

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.signal(x)

    def save(self, store: Any, *, metrics: dict[str, float], data_snapshot: str) -> Any:
        return store.save(
            self.name,
            self.model,
            params={"n_estimators": self.model.n_estimators, "seed": self.model.seed},
            metrics=metrics,
            data_snapshot=data_snapshot,
            features=list(PROPERTIES),
        )
