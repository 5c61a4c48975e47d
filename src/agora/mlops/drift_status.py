"""The drift state of any registered model, measured now on the version that serves.

Drift needs two things: a *reference* stored with the version (the training
features plus the model score, ``drift_reference.npz``, attached by the
training pipelines of models with tabular inputs) and *recent served data*
(the feature vectors ranking logged in the last ``mlops.drift_window_hours``).
When both exist the answer is PSI and KS per feature; otherwise it says which
one is missing and what would produce it. Unknown models are ``NotFound``;
every registered model gets an answer.

Example:
    >>> reports = ServingReports(models, router, ranking_scorer=settings.ranking.scorer)
    ... # doctest: +SKIP
    >>> DriftStatus(platform.drift_sources(), reports).of("ranking-pctr").state  # doctest: +SKIP
    'measured'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agora.errors import InvalidInput, NotFound
from agora.mlops.drift import DEFAULT_KS_ALPHA, DriftReference, DriftReport
from agora.mlops.serving_report import (
    MODERATION,
    RECOMMENDATIONS,
    TAGGING,
    ServingReport,
    ServingReports,
    consumer_of,
)
from agora.mlops.training.pipeline import DRIFT_REFERENCE
from agora.mlops.triggers import CURRENT_FEATURES, MODEL_TASKS, DriftSources, trained_models

MEASURED, NO_REFERENCE, NO_RECENT_DATA = "measured", "no_reference", "no_recent_data"
RANKED_ROUTES = "GET /api/v1/feed/{user_id} and GET /api/v1/search/ranked"


@dataclass(frozen=True)
class DriftState:
    """What is known about a model's drift now."""

    serving: ServingReport
    version: str | None
    state: str
    detail: str
    window_hours: float
    psi_threshold: float
    report: DriftReport | None = None

    def to_dict(self) -> dict[str, Any]:
        report = self.report
        features = [_finite(f.to_dict()) for f in report.by_psi()] if report else []
        return {
            "name": self.serving.name,
            "version": self.version,
            "role": self.serving.role if self.version == self.serving.version else None,
            "state": self.state,
            "drifted": bool(report.drifted) if report else None,
            "detail": self.detail,
            "window_hours": self.window_hours,
            "n_reference": report.n_reference if report else None,
            "n_current": report.n_current if report else None,
            "psi_threshold": report.psi_threshold if report else self.psi_threshold,
            "ks_alpha": report.ks_alpha if report else DEFAULT_KS_ALPHA,
            "features": features,
        }


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """NaN figures (a side without values) as null: JSON has no NaN."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def _no_reference(name: str, version: str) -> str:
    consumer_notes = {
        RECOMMENDATIONS: "recommenders are fitted on the interaction matrix, not on tabular "
        "inputs, so no drift reference is stored with them; they are retrained on the count "
        "of new interactions (mlops.retrain_new_interactions)",
        TAGGING: "tag heads read image embeddings, so no drift reference is stored with them; "
        "they are retrained from tag feedback",
        MODERATION: "the classifiers read text embeddings, so no drift reference is stored "
        "with them; they are retrained with train.classifier",
    }
    consumer = consumer_of(name)
    if consumer in consumer_notes:
        return f"no drift reference stored with {name}@{version}: {consumer_notes[consumer]}"
    task = MODEL_TASKS.get(name)
    producer = (
        f"the training pipeline (POST /api/v1/pipelines/{task}) stores one"
        if task
        else "the training pipelines store one for models with tabular inputs"
    )
    return (
        f"no drift reference stored with {name}@{version} (it was saved outside the "
        f"training pipelines): {producer}, the training features and scores "
        f"({DRIFT_REFERENCE}), when they register a version"
    )


class DriftStatus:
    """Measure (or explain the absence of) drift for one registered model."""

    def __init__(self, sources: DriftSources, reports: ServingReports) -> None:
        """Drift read from ``sources``; what serves each model from ``reports``."""
        self.sources = sources
        self.reports = reports

    def of(self, name: str) -> DriftState:
        """The state of ``name``'s served version (its latest when nothing serves)."""
        ml = self.sources.mlops
        serving = self.reports.report(name)  # NotFound for unknown models
        version = serving.version or serving.latest_version
        assert version is not None  # a registered model has a latest version

        def state(kind: str, detail: str, report: DriftReport | None = None) -> DriftState:
            return DriftState(
                serving, version, kind, detail, ml.drift_window_hours, ml.retrain_psi, report
            )

        models = self.sources.models()
        try:
            path = models.attachment(name, version, DRIFT_REFERENCE)
        except NotFound:
            return state(NO_REFERENCE, _no_reference(name, version))
        family = trained_models(self.sources.db).get(name, "")  # the pipeline that stored it
        source = CURRENT_FEATURES.get(family)
        if source is None:
            return state(
                NO_RECENT_DATA,
                f"a drift reference is stored, but Agora logs no served inputs for {family!r} "
                f"models: drift is measured on the features ranking logs ({RANKED_ROUTES})",
            )
        reference = DriftReference.load(path)
        try:
            current = source(self.sources, models.load(name, version=version))
        except InvalidInput as exc:
            return state(
                NO_RECENT_DATA,
                f"{exc} (last {ml.drift_window_hours:g} h): ranked requests ({RANKED_ROUTES}) "
                f"log the features {name} scores, and drift is measured on them",
            )
        report = reference.compare(current, psi_threshold=ml.retrain_psi)
        drifted = [f.name for f in report.drifted]
        detail = (
            f"{len(drifted)} of {len(report.features)} columns drifted "
            f"({', '.join(drifted[:5])}{'...' if len(drifted) > 5 else ''})"
            if drifted
            else f"no drift in {len(report.features)} columns"
        )
        return state(
            MEASURED,
            f"{name}@{version}: {detail}; {report.n_current} served rows of the last "
            f"{ml.drift_window_hours:g} h against {report.n_reference} training rows",
            report,
        )
