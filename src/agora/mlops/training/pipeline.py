"""What every training pipeline shares: the run record, the data window, and
registration + gate.

A pipeline works with :class:`TrainingServices` (the catalog, the model
store, the settings) or a family's extension of it; the task entry points in
``agora.mlops.training.tasks`` build them from the platform.

``register_and_gate`` is the tail of every family's pipeline: save the version
(metrics, params, data snapshot id, feature list), attach its drift reference
(the training features plus the model score, ``drift_reference.npz``), score
the champion on the *same* holdout, and let the evaluation gate decide:
no champion -> the version is promoted (first model); gate passed ->
challenger (canary starts); gate failed -> ``gate_rejected`` in the history.

Example:
    >>> services = TrainingServices(settings, db, models)  # doctest: +SKIP
    >>> run = TrainingRun.start(services, "ranking-pctr", "ctr", reason="manual")  # doctest: +SKIP
    >>> outcome = register_and_gate(services, run, ...)  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from agora.domain import ModelRef
from agora.errors import AgoraError, InvalidInput
from agora.mlops.drift import DriftReference
from agora.mlops.evaluation import EvaluationGate, GateDecision
from agora.mlops.registry import GATE_REJECTED, REGISTERED, ModelRegistry
from agora.mlops.tables import TrainingRunRow
from agora.ops.metrics import TRAINING_RUNS

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.mlops.base import ModelStore
    from agora.mlops.tasks import TaskContext
    from agora.storage.database import Database


class TrainingBackends(Protocol):
    """What a pipeline's run record, registration and gate need (a ``Platform``
    has them; so does a capability's service, which retrains in-process)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def models(self) -> ModelStore: ...


@dataclass(frozen=True)
class TrainingServices:
    """What every gated pipeline uses (a ``TrainingBackends``): the catalog (run
    records, training data, promotion history), the model store and the settings
    (the data dir for snapshots, the gate margin, each family's own section)."""

    settings: Settings
    db: Database
    models: ModelStore


DRIFT_REFERENCE = "drift_reference.npz"
SCORE_COLUMN = "model_score"


def parse_end(end: str | datetime | None) -> datetime:
    """The training window's end: now, or an ISO-8601 time (naive = UTC)."""
    if end is None:
        return datetime.now(UTC)
    if isinstance(end, datetime):
        return end if end.tzinfo else end.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"end must be an ISO-8601 time, got {end!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class TrainingRun:
    """The ``training_runs`` row of one pipeline run."""

    services: TrainingBackends
    id: str
    model_name: str
    family: str

    @classmethod
    def start(
        cls,
        services: TrainingBackends,
        model_name: str,
        family: str,
        *,
        reason: str,
        run_id: str | None = None,
    ) -> TrainingRun:
        run_id = run_id or uuid.uuid4().hex
        with services.db.session() as s:
            s.add(
                TrainingRunRow(
                    id=run_id, model_name=model_name, family=family, status="running", reason=reason
                )
            )
        return cls(services, run_id, model_name, family)

    @property
    def folder(self) -> Path:
        """The run's own offline-store snapshot folder (part of its data snapshot)."""
        path = self.services.settings.data_dir.absolute() / "mlops" / "snapshots" / self.id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def update(self, **values: Any) -> None:
        with self.services.db.session() as s:
            row = s.get(TrainingRunRow, self.id)
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)

    def fail(self, error: BaseException) -> None:
        self.update(status="failed", decision="failed", finished_at=datetime.now(UTC))
        TRAINING_RUNS.labels(self.model_name, "failed").inc()
        del error


@dataclass(frozen=True)
class TrainingOutcome:
    ref: ModelRef
    decision: str  # champion | challenger | rejected
    gate: GateDecision
    snapshot: str
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": str(self.ref),
            "version": self.ref.version,
            "decision": self.decision,
            "gate": self.gate.to_dict(),
            "data_snapshot": self.snapshot,
            "training_run": self.run_id,
        }


def champion_metrics(
    services: TrainingBackends,
    name: str,
    score: Callable[[Any], dict[str, float] | None],
    *,
    load: Callable[[str], Any] | None = None,
) -> tuple[str | None, dict[str, float] | None]:
    """The champion's version and its metrics on the candidate's holdout.

    ``score(model)`` evaluates the loaded champion; when it cannot (the champion
    uses features this holdout lacks) it returns None and the champion's
    registered metrics are used. ``load(version)`` loads it (default: the store's load).
    """
    champion = ModelRegistry(services.models, services.db).deployment(name).champion
    if champion is None:
        return None, None
    loaded = load(champion) if load else services.models.load(name, version=champion)
    scored = score(loaded)
    if scored is not None:
        return champion, scored
    return champion, dict(services.models.info(name, version=champion).metrics)


def require_no_champion(registry: ModelRegistry, names: list[str], pipeline: str) -> None:
    """Refuse an ungated fit once any of ``names`` has a champion.

    The ungated fits (``agora.recommend.jobs.train``, ``agora.ranking.training``)
    only bootstrap a platform: their latest version serves while no champion
    exists. A retrain after that must go through ``pipeline``, the gated one.
    """
    crowned = [name for name in names if registry.deployment(name).champion is not None]
    if crowned:
        raise InvalidInput(
            f"{', '.join(crowned)} already has a champion: retrain through the gated "
            f"pipeline {pipeline!r}, which evaluates against it before anything is promoted"
        )


def register_and_gate(
    services: TrainingBackends,
    run: TrainingRun,
    *,
    save: Callable[[dict[str, float], str], ModelRef],
    metrics: dict[str, float],
    champion: tuple[str | None, dict[str, float] | None],
    reference: NDArray[np.float64] | None,
    feature_names: list[str],
    snapshot: str,
    actor: str,
) -> TrainingOutcome:
    """Save, attach the drift reference, gate against the champion, move aliases.

    ``reference``: the training inputs plus the model score (drift baseline), or
    None for models without tabular inputs.
    """
    registry = ModelRegistry(services.models, services.db)
    ref = save(metrics, snapshot)
    if reference is not None:  # models without a tabular input (recommenders) have none
        with tempfile.TemporaryDirectory(prefix="agora-drift-") as tmp:
            path = Path(tmp) / DRIFT_REFERENCE
            names = [*feature_names, SCORE_COLUMN]
            DriftReference.fit(reference, names, sample_size=50_000).save(path)
            services.models.attach(ref.name, ref.version, path)
    registry.record(
        ref.name,
        REGISTERED,
        ref.version,
        actor=actor,
        reason=f"trained on {snapshot}",
        metrics=metrics,
    )
    champion_version, champion_figures = champion
    gate = EvaluationGate(run.family, services.settings.mlops.gate_margin).decide(
        metrics, champion_figures
    )
    history_metrics = {
        "candidate": metrics,
        "champion": champion_figures,
        "champion_version": champion_version,
    }
    if not gate.passed:
        registry.record(
            ref.name,
            GATE_REJECTED,
            ref.version,
            actor=actor,
            reason=gate.reason,
            metrics=history_metrics,
        )
        decision = "rejected"
    elif champion_version is None:
        registry.promote(
            ref.name,
            ref.version,
            actor=actor,
            reason=f"first champion: {gate.reason}",
            metrics=history_metrics,
        )
        decision = "champion"
    else:
        registry.challenge(
            ref.name,
            ref.version,
            actor=actor,
            reason=f"gate passed: {gate.reason}",
            metrics=history_metrics,
        )
        decision = "challenger"
    TRAINING_RUNS.labels(ref.name, decision).inc()
    run.update(
        status="succeeded",
        version=ref.version,
        decision=decision,
        metrics=metrics,
        data_snapshot=snapshot,
        finished_at=datetime.now(UTC),
    )
    return TrainingOutcome(ref, decision, gate, snapshot, run.id)


def guarded(run: TrainingRun, body: Callable[[], TrainingOutcome]) -> dict[str, Any]:
    """Run a pipeline body; a failure marks the run failed and re-raises."""
    try:
        return body().to_dict()
    except (AgoraError, Exception) as exc:
        run.fail(exc)
        raise


def gate_tabular_model(
    services: TrainingBackends,
    run: TrainingRun,
    ctx: TaskContext,
    model: Any,
    *,
    x_train: NDArray[np.float64],
    metrics: dict[str, float],
    champion: tuple[str | None, dict[str, float] | None],
    feature_names: list[str],
    snapshot: str,
    actor: str,
) -> TrainingOutcome:
    """``register_and_gate`` for a model over a feature matrix (pCTR, pCVR, ranker).

    The drift baseline is the training inputs plus the model's score on them.
    """
    reference = np.column_stack([x_train, model.predict(x_train)])
    outcome = register_and_gate(
        services,
        run,
        save=lambda m, snap: model.save(services.models, metrics=m, data_snapshot=snap),
        metrics=metrics,
        champion=champion,
        reference=reference,
        feature_names=feature_names,
        snapshot=snapshot,
        actor=actor,
    )
    ctx.progress(100, f"{outcome.ref}: {outcome.decision} ({outcome.gate.reason})")
    return outcome
