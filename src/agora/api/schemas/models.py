"""Model registry: versions, deployment (champion/challenger), promotion history,
canary figures, what serves, drift."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from agora.api.schemas.common import JSONObject, RequestModel, ResponseModel, UtcDatetime

Reason = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
VersionNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]


class ModelVersion(ResponseModel):
    """One saved version and the metadata recorded with it."""

    name: str
    version: str
    ref: str = Field(description="`name@version`.")
    aliases: list[str] = Field(description="Aliases pointing at it (`champion`, `challenger`).")
    params: JSONObject = Field(description="Hyper-parameters.")
    metrics: dict[str, float] = Field(description="Offline evaluation figures.")
    data_snapshot: str | None = Field(description="What it was trained on.")
    features: list[str] = Field(description="Input features (or encoder) it expects.")
    created_at: float | None = Field(description="Epoch seconds.")
    run_id: str | None = Field(description="The MLflow run that saved it.")


class RegisteredModel(ResponseModel):
    """A registered model with its versions, oldest first."""

    name: str
    aliases: dict[str, str] = Field(description="Alias -> version.")
    latest_version: str | None
    versions: list[ModelVersion]


class ModelList(ResponseModel):
    """Every registered model."""

    models: list[RegisteredModel]


class Deployment(ResponseModel):
    """Which versions serve: the champion, and a challenger in canary for a share of users."""

    model: str
    champion: str | None
    challenger: str | None
    canary_share: float | None = Field(
        description="The challenger's share of users (null: the `mlops.canary_share` default)."
    )
    canary_started_at: UtcDatetime | None
    revision: int = Field(description="Bumped by every move (0: never deployed).")


PromotionAction = Literal[
    "promote", "rollback", "challenger", "abort_canary", "registered", "gate_rejected"
]


class Promotion(ResponseModel):
    """One history entry: who did what to which version, when and why."""

    id: int
    model: str
    action: PromotionAction
    version: str | None
    previous_version: str | None
    actor: str
    reason: str
    metrics: JSONObject = Field(description="Figures the decision was taken on.")
    at: UtcDatetime


class PromotionHistory(ResponseModel):
    """Append-only promotion history, oldest first."""

    model: str
    history: list[Promotion]


class PromoteRequest(RequestModel):
    """``POST /models/{name}/promote`` body (optional)."""

    model_config = ConfigDict(
        coerce_numbers_to_str=True,
        json_schema_extra={"examples": [{"version": "3", "reason": "canary healthy for 24 h"}]},
    )
    version: VersionNumber | None = Field(
        default=None, description="The version to promote (default: the challenger)."
    )
    reason: Reason = ""


class ReasonRequest(RequestModel):
    """Body of rollback and canary abort (optional): why, for the history."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "CTR fell 8%"}]})
    reason: Reason = ""


class ChallengerRequest(RequestModel):
    """``POST /models/{name}/challenger`` body."""

    model_config = ConfigDict(
        coerce_numbers_to_str=True,
        json_schema_extra={
            "examples": [{"version": "4", "reason": "retrained on May data", "canary_share": 0.05}]
        },
    )
    version: VersionNumber
    reason: Reason = ""
    canary_share: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of users (default `mlops.canary_share`)."
    )


class VersionFigures(ResponseModel):
    """Serving figures of one version since the canary started."""

    version: str
    requests: int
    errors: int
    error_rate: float
    impressions: int
    clicks: int
    ctr: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


class CanaryVerdict(ResponseModel):
    """Per-version figures of the running canary and what the judge would do now."""

    model: str
    action: Literal["none", "wait", "promote", "rollback"]
    reason: str
    challenger: VersionFigures | None
    champion: VersionFigures | None


ServingRole = Literal["champion", "challenger", "latest"]


class ModelServing(ResponseModel):
    """The version that serves one subject, resolved the way the capability that
    loads the model resolves it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "reco-hybrid@7",
                    "name": "reco-hybrid",
                    "version": "7",
                    "role": "latest",
                    "served": True,
                    "served_by": "recommendations",
                    "subject": "u-42",
                    "champion": None,
                    "challenger": None,
                    "canary_share": None,
                    "latest_version": "7",
                    "detail": "no champion: recommendations serve the latest registered version",
                }
            ]
        }
    )
    model: str | None = Field(description="`name@version` that serves, null when none does.")
    name: str
    version: str | None
    role: ServingRole | None = Field(
        description="champion; challenger (inside the canary share); latest (no champion, "
        "and the capability serves the latest registered version); null: nothing serves."
    )
    served: bool
    served_by: str | None = Field(
        description="The capability that loads the model (null: none in Agora; the "
        "registry's champion/challenger still answers for your own services)."
    )
    subject: str | None = Field(description="The canary subject asked about (`user_id`).")
    champion: str | None
    challenger: str | None
    canary_share: float | None = Field(description="The challenger's effective share, in canary.")
    latest_version: str | None
    detail: str = Field(description="How the version was resolved, in words.")


class FeatureDrift(ResponseModel):
    """Drift figures of one input feature (or of the model score, `score`)."""

    name: str
    psi: float | None = Field(description="Population stability index (null: no values).")
    ks_statistic: float | None
    ks_pvalue: float | None
    reference_missing_rate: float
    current_missing_rate: float
    drifted: bool
    edges: list[float] = Field(description="Interior quantile edges of the reference bins.")
    # Null entries: that side has no non-missing values of the feature (NaN figures).
    reference_proportions: list[float | None] = Field(
        description="Share of the reference in each bin (null: no values on this side)."
    )
    current_proportions: list[float | None] = Field(
        description="Share of the recent rows in each bin (null: no values on this side)."
    )


DriftState = Literal["measured", "no_reference", "no_recent_data"]


class ModelDrift(ResponseModel):
    """Drift of the served version's inputs and score against its training snapshot."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "reco-hybrid",
                    "version": "7",
                    "role": "latest",
                    "state": "no_reference",
                    "drifted": None,
                    "detail": "recommenders are fitted on the interaction matrix ...",
                    "window_hours": 24.0,
                    "n_reference": None,
                    "n_current": None,
                    "psi_threshold": 0.2,
                    "ks_alpha": 0.05,
                    "features": [],
                }
            ]
        }
    )
    name: str
    version: str | None = Field(description="The version measured: the one that serves.")
    role: ServingRole | None
    state: DriftState = Field(
        description="measured; no_reference (no drift reference stored with this version); "
        "no_recent_data (nothing served with its features in the window)."
    )
    drifted: bool | None = Field(description="Any feature drifted (null: not measured).")
    detail: str = Field(description="What was measured, or why nothing was and what would be.")
    window_hours: float = Field(description="The recent window compared with the reference.")
    n_reference: int | None
    n_current: int | None
    psi_threshold: float
    ks_alpha: float
    features: list[FeatureDrift] = Field(description="Sorted by PSI, largest first.")
