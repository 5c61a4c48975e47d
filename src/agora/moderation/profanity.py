"""alt-profanity-check as one signal: a packaged TF-IDF + linear SVM (English).

Its training data includes the davidson tweets, so its held-out scores on
davidson are optimistic; it is reported next to the classifiers trained here
(``benchmarks/moderation_quality.py``), not in their place.

Example:
    >>> bool(ProfanitySignal().predict(["you are a lovely person"])[0] < 0.5)
    True
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from importlib.metadata import version
from threading import Lock
from typing import Any

import numpy as np

from agora.moderation.linear import LinearCalibrated


class ProfanitySignal:
    """Probability that a text is profane (alt-profanity-check).

    The package's calibrated SVM is flattened (``LinearCalibrated``) because
    its own ``predict_prob`` spends ~10 ms of overhead on a single text. The
    last few single-text answers are kept: a request's text is scored by the
    analyser and again by a classifier whose stack reads this signal.
    """

    RECENT = 64  # single texts remembered (a request's, a pipeline batch's)

    def __init__(self) -> None:
        self._parts: tuple[Any, LinearCalibrated] | None = None
        self._lock = Lock()
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._version: str | None = None

    def _load(self) -> tuple[Any, LinearCalibrated]:
        if self._parts is None:
            with self._lock:
                if self._parts is None:
                    # Imported lazily: the package loads its joblib files at import.
                    from profanity_check import profanity_check as pc

                    self._parts = (pc.vectorizer, LinearCalibrated.from_sklearn(pc.model))
        return self._parts

    @property
    def model(self) -> str:
        if self._version is None:  # reading package metadata costs ~2 ms a call
            self._version = version("alt-profanity-check")
        return f"alt-profanity-check@{self._version}"

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """One probability per text."""
        if not texts:
            return np.zeros(0)
        if len(texts) == 1:
            with self._lock:
                hit = self._recent.get(texts[0])
            if hit is not None:
                return np.array([hit])
        vectorizer, model = self._load()
        out = model.predict_proba(vectorizer.transform(list(texts)))
        if len(texts) == 1:
            with self._lock:
                self._recent[texts[0]] = float(out[0])
                while len(self._recent) > self.RECENT:
                    self._recent.popitem(last=False)
        return out
