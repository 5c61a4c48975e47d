"""Which trained text models a process uses, refreshed from the model store.

Each process keeps the ``champion`` versions of the text classifiers in
memory and asks the store again every ``moderation.model_refresh_s`` seconds,
so retraining (``agora moderation train``, moderator feedback) reaches every
worker without a restart. When the store has no champion, the first process
to need a model registers the classifiers shipped in the package as champions
(``agora.moderation.shipped``; once, others wait on the lock), so a fresh
install is never degraded. With ``moderation.shipped_models`` off and
``moderation.train_data_dir`` set, it trains them instead through the gated
``train.classifier`` pipeline, where a first version becomes champion because
there is none. When neither, the classifiers are absent: text analysis runs
with rules and the profanity signal only and says so.

With the catalog (the registry's deployment rows), a classifier's challenger
in canary serves its share of subjects (``canary_position`` of the asset id,
or of the text's digest), and ``report`` records each analysis per version in
a ``CanaryMonitor`` flushed every ``FLUSH_S`` seconds, so the canary judge can
promote or roll it back. (Before, a retrained classifier that passed the gate
was never served and waited in canary for good.)

Example:
    >>> provider = ModelProvider(
    ...     settings, lambda: platform.models, platform.db, encoders=platform.encoders
    ... )  # doctest: +SKIP
    >>> provider.text_models().complete  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agora.domain import ModelRef
from agora.errors import NotFound
from agora.mlops.canary import CanaryMonitor, CanaryRouter
from agora.mlops.registry import Deployment, ModelRegistry
from agora.moderation.text import TextModels
from agora.moderation.text_models import SpamClassifier, TextClassifier, ToxicityClassifier
from agora.moderation.training import CHAMPION

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.encoders.factory import Encoders
    from agora.mlops.base import ModelStore
    from agora.storage.database import Database

log = logging.getLogger("agora.moderation")
NAMES = (ToxicityClassifier.name, SpamClassifier.name)
FLUSH_S = 10.0


class ModelProvider:
    """Champion text models for one model store, cached with a refresh period."""

    def __init__(
        self,
        settings: Settings,
        store: Callable[[], ModelStore],
        db: Database,
        *,
        encoders: Encoders,
        train_first: Callable[[], None] | None = None,
    ) -> None:
        """``store`` opens the model store on first use (a store that cannot be
        opened is text analysis down, not a failed construction); ``db`` (the
        process's catalog pool) holds the registry's deployment rows
        and promotion history; ``encoders`` (the process's) embed for the
        loaded models. ``train_first`` trains the
        classifiers when the store has none (``moderation.train_data_dir``)."""
        self.settings = settings
        self.encoders = encoders
        self._open_store = store
        self._db = db
        self._train_first = train_first
        self._models: dict[str, TextClassifier] = {}
        self._versions: dict[str, str] = {}
        # Per classifier in canary: its deployment row and the challenger model.
        self._challengers: dict[str, tuple[Deployment, TextClassifier]] = {}
        self._router: CanaryRouter | None = None
        self._monitor: CanaryMonitor | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def store(self) -> ModelStore:
        """The model store (opened on first use; raises while it cannot be opened)."""
        return self._open_store()

    def _load(self, name: str) -> TextClassifier | None:
        try:
            info = self.store.info(name, alias=CHAMPION)
        except NotFound:
            return None
        version = info.ref.version
        if self._versions.get(name) == version:
            return self._models[name]
        model: TextClassifier = self.store.load(name, version=version)
        model.version = version
        model.use_encoders(self.encoders)
        self._versions[name] = version
        self._models[name] = model
        return model

    def text_models(self, *, force: bool = False, subject_id: str | None = None) -> TextModels:
        """The classifiers for one subject (either may be None): the champions, or a
        challenger inside its canary share; raises if the store fails."""
        now = time.monotonic()
        with self._lock:
            if force or now - self._checked >= self.settings.moderation.model_refresh_s:
                loaded = {n: self._load(n) for n in NAMES}
                if None in loaded.values():
                    if self.settings.moderation.shipped_models:
                        self._install_shipped()
                    elif self.settings.moderation.train_data_dir:
                        self._train_now()
                    loaded = {n: self._load(n) for n in loaded}
                self._refresh_canary()
                self._checked = now
            return TextModels(
                toxicity=self._pick(ToxicityClassifier.name, subject_id),
                spam=self._pick(SpamClassifier.name, subject_id),
            )

    def report(self, models: TextModels, latency_s: float, *, error: bool = False) -> None:
        """One analysis by these classifiers, for the canary judge (before the first
        refresh: nothing)."""
        if self._monitor is None:
            return
        for model in (models.toxicity, models.spam):
            if model is not None:
                ref = ModelRef(model.name, model.version)
                self._monitor.record_request(ref, latency_s, error=error)
        self._monitor.flush_if_due(FLUSH_S)

    def _pick(self, name: str, subject_id: str | None) -> TextClassifier | None:
        canary, router = self._challengers.get(name), self._router
        if (
            canary is not None
            and router is not None
            and router.serves_challenger(canary[0], subject_id)
        ):
            return canary[1]
        return self._models.get(name)

    def _install_shipped(self) -> None:
        """Register the package's classifiers as champions where none serves (under a
        file lock: the first process registers, the others find the champions)."""
        from filelock import FileLock

        from agora.moderation.shipped import register_shipped

        lock = FileLock(str(Path(self.settings.data_dir) / "moderation-train.lock"))
        with lock:
            registry = ModelRegistry(self.store, self._db)
            try:
                register_shipped(self.store, registry, list(NAMES))
            except NotFound as exc:  # a package built without the artefacts
                log.warning("moderation: no shipped classifiers (%s)", exc.detail)

    def _refresh_canary(self) -> None:
        """Deployment rows and the challengers' models (under the lock)."""
        if self._router is None:
            self._router = CanaryRouter(
                ModelRegistry(self.store, self._db), self.settings.mlops.canary_share
            )
            self._monitor = CanaryMonitor(self._db)
        try:
            deployments = self._router.registry.deployments_of(list(NAMES))
        # The catalog is down (any driver error): the champions serve everything.
        except Exception as exc:  # noqa: BLE001
            log.info("moderation canary: deployments unreadable (%s)", exc)
            deployments = {}
        for name in NAMES:
            dep = deployments.get(name)
            challenger = dep.challenger_against(self._versions.get(name)) if dep else None
            if dep is None or challenger is None:
                self._challengers.pop(name, None)
                continue
            current = self._challengers.get(name)
            model = current[1] if current is not None and current[1].version == challenger else None
            if model is None:
                model = self.store.load(name, version=challenger)
                model.version = challenger
                model.use_encoders(self.encoders)
            self._challengers[name] = (dep, model)

    def _train_now(self) -> None:
        from filelock import FileLock

        lock = FileLock(str(Path(self.settings.data_dir) / "moderation-train.lock"))
        with lock:
            try:  # another process may have trained while we waited
                self.store.info(ToxicityClassifier.name, alias=CHAMPION)
                self.store.info(SpamClassifier.name, alias=CHAMPION)
                return
            except NotFound:
                pass
            if self._train_first is None:
                log.warning("no moderation models in the store and no trainer: absent")
                return
            log.warning("no moderation models in the store: training at first use")
            self._train_first()

    def install(self, models: dict[str, Any]) -> None:
        """Use already-loaded models (name -> model), e.g. right after training."""
        with self._lock:
            for name, model in models.items():
                if isinstance(model, TextClassifier):  # one encoder (and cache) per process
                    model.use_encoders(self.encoders)
                self._models[name] = model
                self._versions[name] = model.version
            self._checked = time.monotonic()
