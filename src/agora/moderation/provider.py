"""Which trained text models a process uses, refreshed from the model store.

Each process keeps the ``champion`` versions of the text classifiers in
memory and asks the store again every ``moderation.model_refresh_s`` seconds,
so retraining (``agora moderation train``, moderator feedback) reaches every
worker without a restart. When the store has no champion and
``moderation.train_data_dir`` is set, the first process to need a model trains
it (once; others wait on the lock) through the gated ``train.classifier``
pipeline, where a first version becomes champion because there is none. When
neither, the classifiers are absent: text analysis runs with rules and the
profanity signal only and says so.

Example:
    >>> provider = ModelProvider(settings)  # doctest: +SKIP
    >>> provider.text_models().complete  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agora.errors import NotFound
from agora.moderation.text import TextModels
from agora.moderation.text_models import SpamClassifier, TextClassifier, ToxicityClassifier
from agora.moderation.training import CHAMPION

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.mlops.base import ModelStore

log = logging.getLogger("agora.moderation")


class ModelProvider:
    """Champion text models for one model store, cached with a refresh period."""

    def __init__(self, settings: Settings, store: ModelStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._models: dict[str, TextClassifier] = {}
        self._versions: dict[str, str] = {}
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def store(self) -> ModelStore:
        if self._store is None:
            from agora.mlops import create_model_store

            self._store = create_model_store(self.settings)
        return self._store

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
        self._versions[name] = version
        self._models[name] = model
        return model

    def text_models(self, *, force: bool = False) -> TextModels:
        """The current champions (either may be None); raises if the store fails."""
        now = time.monotonic()
        with self._lock:
            if force or now - self._checked >= self.settings.moderation.model_refresh_s:
                loaded = {n: self._load(n) for n in (ToxicityClassifier.name, SpamClassifier.name)}
                if None in loaded.values() and self.settings.moderation.train_data_dir:
                    self._train_now()
                    loaded = {n: self._load(n) for n in loaded}
                self._checked = now
            return TextModels(
                toxicity=self._models.get(ToxicityClassifier.name),
                spam=self._models.get(SpamClassifier.name),
            )

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
            log.warning("no moderation models in the store: training at first use")
            from agora.mlops.training.classifier import train_classifier
            from agora.runtime import Platform

            # The registry and training-run records live in the catalog: the
            # pipeline needs a platform (the caller's schema is migrated already).
            platform = Platform.build(self.settings, run_migrations=False)
            try:
                train_classifier(platform, reason="first use", actor="moderation:first-use")
            finally:
                platform.close()

    def install(self, models: dict[str, Any]) -> None:
        """Use already-loaded models (name -> model), e.g. right after training."""
        with self._lock:
            for name, model in models.items():
                self._models[name] = model
                self._versions[name] = model.version
            self._checked = time.monotonic()


_PROVIDERS: dict[str, ModelProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def provider_for(settings: Settings) -> ModelProvider:
    """The process-wide provider for this settings' model store."""
    key = f"{settings.registry.tracking_uri}|{settings.registry.artifact_root}"
    with _PROVIDERS_LOCK:
        if key not in _PROVIDERS:
            _PROVIDERS[key] = ModelProvider(settings)
        return _PROVIDERS[key]
