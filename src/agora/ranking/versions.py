"""Which model versions score one ranking request: champion or canary challenger.

Per request, the MLOps canary router (``platform.serving``) says, in one
catalog read, which version of ``ranking-pctr``, ``ranking-pcvr`` (and
``ranking-lambdamart`` when it is the scorer) serves this user: the champion,
or the challenger for the deterministic canary share. A model without a
champion serves its latest version (the state before any MLOps workflow).

Loaded versions are kept per (name, version), so a rollback or a promotion
takes effect on the next request without reloading what was loaded before. A
version is *refused* when its feature list is not the one the pipeline builds
(``FEATURES``): a refused challenger falls back to the champion for that
request (reported to the canary monitor as an error, so the canary rolls it
back), a refused champion falls back to popularity weights. Refusals are
flagged in the response and counted in ``agora_fallbacks_total``.

Example:
    >>> versions = ModelVersions(
    ...     platform.models, platform.serving, mode="final_score", weights=w
    ... )  # doctest: +SKIP
    >>> resolved = versions.resolve("u1")  # doctest: +SKIP
    >>> {k: str(c.ref) for k, c in resolved.choices.items()}  # doctest: +SKIP
    {'pctr': 'ranking-pctr@3', 'pcvr': 'ranking-pcvr@2'}
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agora.domain import ModelRef
from agora.errors import NotFound
from agora.mlops.canary import CHALLENGER_ROLE, ServingChoice
from agora.ranking.hydration import FEATURES
from agora.ranking.models import PCTR_MODEL, PCVR_MODEL, RANKER_MODEL, CtrModel, LambdaRanker
from agora.ranking.scoring import Scorer, Weights

if TYPE_CHECKING:
    from agora.mlops.base import ModelStore
    from agora.mlops.canary import CanaryRouter

log = logging.getLogger(__name__)

FALLBACK_MODEL_REFUSED = "model_feature_mismatch"
LATEST_ROLE = "latest"  # no champion yet: the latest registered version serves
LATEST_REFRESH_S = 60.0
MAX_SCORERS = 8
ROLES = {"pctr": PCTR_MODEL, "pcvr": PCVR_MODEL, "ranker": RANKER_MODEL}
CLASSES: dict[str, type[CtrModel] | type[LambdaRanker]] = {
    PCTR_MODEL: CtrModel,
    PCVR_MODEL: CtrModel,
    RANKER_MODEL: LambdaRanker,
}


@dataclass(frozen=True)
class Refusal:
    """A version the pipeline will not serve, and why."""

    ref: ModelRef
    reason: str


@dataclass
class Resolution:
    """The scorer of one request and the versions behind it."""

    scorer: Scorer | None
    choices: dict[str, ServingChoice] = field(default_factory=dict)  # role key -> served
    refused: list[Refusal] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)

    def serving(self) -> dict[str, dict[str, str]]:
        """``{model name: {"version", "role"}}`` for the response."""
        return {
            c.ref.name: {"version": c.ref.version, "role": c.role} for c in self.choices.values()
        }


def check_features(model: Any) -> str | None:
    """Why ``model`` cannot score the pipeline's feature matrix (None: it can)."""
    names = list(getattr(model, "feature_names", None) or [])
    if names == FEATURES:
        return None
    missing = [f for f in FEATURES if f not in names]
    extra = [f for f in names if f not in FEATURES]
    return (
        f"feature list does not match the pipeline's ({len(names)} vs {len(FEATURES)} features; "
        f"missing {missing[:3]}, unknown {extra[:3]})"
    )


class ModelVersions:
    """Per-request version resolution with per-version caches of loaded models."""

    def __init__(
        self, models: ModelStore, serving: CanaryRouter, *, mode: str, weights: Weights
    ) -> None:
        """Versions load from ``models``; ``serving`` picks champion or canary challenger
        per user (its registry holds the deployments)."""
        self.models, self.serving = models, serving
        self.mode = mode
        self.weights = weights
        names = [PCTR_MODEL, PCVR_MODEL] + ([RANKER_MODEL] if mode == "lambdamart" else [])
        self.names = names
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], Any] = {}  # model, Refusal, or None (absent)
        self._latest: dict[str, tuple[float, ServingChoice | None]] = {}
        self._scorers: OrderedDict[tuple[str | None, ...], Scorer | None] = OrderedDict()

    def clear(self) -> None:
        """Forget loaded versions (after training, or to pick up a new latest version)."""
        with self._lock:
            self._models.clear()
            self._latest.clear()
            self._scorers.clear()

    # -- resolution --------------------------------------------------------------

    def _without_champion(self, name: str) -> ServingChoice | None:
        """The latest version (or a champion set in MLflow directly), cached a minute."""
        now = time.monotonic()
        cached = self._latest.get(name)
        if cached is not None and now - cached[0] < LATEST_REFRESH_S:
            return cached[1]
        choice: ServingChoice | None = None
        try:
            dep = self.serving.registry.deployment(name)  # adopts MLflow aliases
            if dep.champion is not None:
                choice = ServingChoice(ModelRef(name, dep.champion), "champion", dep.champion)
            else:
                ref = self.models.info(name).ref
                choice = ServingChoice(ref, LATEST_ROLE, None)
        except NotFound:
            choice = None
        self._latest[name] = (now, choice)
        return choice

    def _model(self, ref: ModelRef) -> Any:
        """The loaded version, a ``Refusal``, or None when the store has no such version."""
        key = (ref.name, ref.version)
        with self._lock:
            if key in self._models:
                return self._models[key]
        found: Any
        try:
            found = CLASSES[ref.name].load(self.models, ref.name, version=ref.version)
            reason = check_features(found)
            if reason is not None:
                found = Refusal(ref, reason)
        except NotFound:
            found = None
        # Wrong class, corrupt artifact, unpickling error: refused, and the request falls back.
        except Exception as exc:  # noqa: BLE001
            log.warning("ranking: cannot load %s: %s", ref, exc)
            found = Refusal(ref, f"cannot be loaded: {exc}")
        with self._lock:
            self._models[key] = found
        return found

    def resolve(self, user_id: str | None) -> Resolution:
        """Choose, load and check the versions for ``user_id``; build (or reuse) the scorer."""
        routed = self.serving.serving_versions(self.names, user_id)
        out = Resolution(scorer=None)
        models: dict[str, Any] = {}
        for key, name in ROLES.items():
            if name not in self.names:
                continue
            choice = routed.get(name) or self._without_champion(name)
            if choice is None:
                continue
            model = self._model(choice.ref)
            if isinstance(model, Refusal) and choice.role == CHALLENGER_ROLE and choice.champion:
                out.refused.append(model)
                choice = ServingChoice(ModelRef(name, choice.champion), "champion", choice.champion)
                model = self._model(choice.ref)
            if isinstance(model, Refusal):
                out.refused.append(model)
                continue
            if model is not None:
                models[key] = model
                out.choices[key] = choice
        if out.refused:
            out.fallbacks.append(FALLBACK_MODEL_REFUSED)
        out.scorer = self._scorer(models)
        return out

    def _scorer(self, models: dict[str, Any]) -> Scorer | None:
        pctr, pcvr, ranker = (models.get(k) for k in ("pctr", "pcvr", "ranker"))
        if pctr is None and ranker is None:
            return None
        key = tuple(None if m is None else str(m.ref) for m in (pctr, pcvr, ranker))
        with self._lock:
            if key in self._scorers:
                self._scorers.move_to_end(key)
                return self._scorers[key]
        # Compiled forests are built (and JIT-warmed) once per combination of versions.
        scorer = Scorer(pctr, pcvr, ranker, mode=self.mode, weights=self.weights)
        with self._lock:
            self._scorers[key] = scorer
            while len(self._scorers) > MAX_SCORERS:
                self._scorers.popitem(last=False)
        return scorer


__all__ = ["FALLBACK_MODEL_REFUSED", "ModelVersions", "Refusal", "Resolution", "check_features"]
