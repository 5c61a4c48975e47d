"""Condition grading (seed 001's ``condition_score``): a model trained here on known damage.

Input per image: the classical measures of ``agora.vision.measures`` (blur,
noise, exposure, JPEG blockiness, resolution) and the image encoder's
L2-normalised features (EfficientNet-Lite0, reduced by PCA fitted on the
training images: the encoder says *what* is in the picture, which tells the
regressor how sharp or busy that kind of content normally is). Target: the
degradation strength of ``agora.vision.degrade`` (0 clean, 1 ruined). A
gradient-boosted regressor (scikit-learn's ``HistGradientBoostingRegressor``)
learns it; ``condition_score = 1 - predicted strength``, clipped to [0, 1].

The model is trained and gated by ``agora.mlops.training.condition``
(``train.condition``, Spearman correlation on held-out images) and served
from the model store's ``image-condition`` champion by :class:`ConditionGrader`.

Example:
    >>> model = ConditionModel().fit(measures, features, strengths)  # doctest: +SKIP
    >>> model.score(measures[:1], features[:1])  # doctest: +SKIP
    array([0.93])
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agora.errors import NotFound
from agora.mlops.artifact_state import VersionedState
from agora.vision.measures import MEASURES

if TYPE_CHECKING:
    from agora.mlops.base import ModelStore

log = logging.getLogger("agora.vision")

CONDITION_MODEL = "image-condition"
FloatArray = NDArray[np.float64]


class ConditionModel(VersionedState):
    """Measures + encoder features -> degradation strength -> condition score.

    ``pca_dims``: encoder feature dimensions kept (0: the classical measures alone).
    """

    def __init__(
        self,
        pca_dims: int = 24,
        max_iter: int = 300,
        learning_rate: float = 0.06,
        random_state: int = 0,
    ) -> None:
        self.pca_dims = pca_dims
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.encoder_: str | None = None
        self.pca_: Any = None
        self.head_: Any = None

    @property
    def feature_names(self) -> list[str]:
        return [*MEASURES, *(f"encoder_pc{i}" for i in range(self.pca_dims))]

    def _inputs(self, measures: FloatArray, features: FloatArray | None) -> FloatArray:
        m = np.asarray(measures, dtype=np.float64)
        if not self.pca_dims:
            return m
        if features is None:
            raise ValueError("this condition model needs the image encoder's features")
        return np.hstack([m, self.pca_.transform(np.asarray(features, dtype=np.float64))])

    def fit(
        self,
        measures: FloatArray,
        features: FloatArray | None,
        strengths: FloatArray,
        *,
        encoder: str | None = None,
    ) -> ConditionModel:
        """Fit on rows of measures (``MEASURES`` order), encoder features, strengths in [0, 1]."""
        from sklearn.decomposition import PCA
        from sklearn.ensemble import HistGradientBoostingRegressor

        if self.pca_dims:
            if features is None:
                raise ValueError("pca_dims > 0 needs encoder features")
            self.pca_ = PCA(self.pca_dims, random_state=self.random_state).fit(features)
        self.encoder_ = encoder
        self.head_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            random_state=self.random_state,
        ).fit(self._inputs(measures, features), np.asarray(strengths, dtype=np.float64))
        return self

    def predict_strength(self, measures: FloatArray, features: FloatArray | None) -> FloatArray:
        """Predicted degradation strength per row, clipped to [0, 1]."""
        from threadpoolctl import threadpool_limits

        # One image per request: OpenMP's thread team costs more than it saves,
        # and on a loaded machine its spin-waits cost seconds.
        with threadpool_limits(limits=1, user_api="openmp"):
            out = self.head_.predict(self._inputs(measures, features))
        return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)

    def score(self, measures: FloatArray, features: FloatArray | None) -> FloatArray:
        """Condition score per row: 1 pristine, 0 unusable."""
        return 1.0 - self.predict_strength(measures, features)

    @property
    def needs_features(self) -> bool:
        return bool(self.pca_dims)


@dataclass(frozen=True)
class ConditionResult:
    """One image's condition, or in ``note`` why there is none."""

    score: float | None
    model: str | None
    measures: dict[str, float]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.score is not None,
            "condition_score": None if self.score is None else round(self.score, 4),
            "model": self.model,
            "measures": {k: round(v, 4) for k, v in self.measures.items()},
            "note": self.note,
        }


NO_MODEL_NOTE = (
    "no trained condition model in the model store: run `agora train condition` "
    "(task train.condition); the classical measures are given alone"
)


class ConditionGrader:
    """The model store's ``image-condition`` champion, looked up at most every ``refresh_s``."""

    def __init__(self, store: Callable[[], ModelStore], refresh_s: float = 60.0) -> None:
        self._open_store = store
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._version: str | None = None
        self._model: ConditionModel | None = None

    def current(self) -> tuple[str | None, ConditionModel | None]:
        """(version, model) of the champion, or (None, None) when none is promoted."""
        with self._lock:
            if time.monotonic() - self._checked >= self.refresh_s:
                self._checked = time.monotonic()
                try:
                    store = self._open_store()
                    info = store.info(CONDITION_MODEL, alias="champion")
                    if info.ref.version != self._version:
                        self._model = store.load(CONDITION_MODEL, version=info.ref.version)
                        self._version = info.ref.version
                except NotFound:
                    self._version, self._model = None, None
                # A store that cannot be read keeps the model already loaded.
                except Exception as exc:  # noqa: BLE001
                    log.warning("condition model lookup failed: %s", exc)
            return self._version, self._model

    @property
    def needs_features(self) -> bool:
        _, model = self.current()
        return model is not None and model.needs_features

    def grade(self, image: Any, features: NDArray[np.float32] | None) -> ConditionResult:
        """Condition of one decoded image; ``features``: its encoder features (or None)."""
        from agora.vision.measures import measure

        measured = measure(image)
        version, model = self.current()
        if model is None:
            return ConditionResult(None, None, measured, NO_MODEL_NOTE)
        row = np.array([[measured[name] for name in MEASURES]])
        feats = None if features is None else np.asarray(features, dtype=np.float64)[None, :]
        score = float(model.score(row, feats)[0])
        return ConditionResult(score, f"{CONDITION_MODEL}@{version}", measured)
