"""The language heads a process serves, and the text understanding of ``analyze-text``.

``HeadProvider`` keeps the ``champion`` version of each head from the model
store, asking again every ``language.model_refresh_s`` seconds (a gated
retrain reaches every process without a restart). A head without a champion
is absent: the answer says so (``unavailable``) instead of guessing.

``TextUnderstanding.analyze`` encodes the request's texts once, in one call
to the served text encoder (``minilm``), cut exactly as moderation's
classifiers cut them (``agora.moderation.embeddings.MAX_CHARS``): the
vectors go to every head, and moderation's classifiers find the same vectors
in the encoder's query cache, so nothing is encoded twice.

Example:
    >>> understanding = TextUnderstanding(platform.moderation, platform.language_heads,
    ...                                   platform.encoders)  # doctest: +SKIP
    >>> understanding.analyze(["love it, fast shipping"])[0]["sentiment"]["label"]  # doctest: +SKIP
    'positive'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from agora.encoders.text import truncate_words
from agora.errors import NotFound, PayloadTooLarge
from agora.language.heads import HeadResult, TextHead
from agora.moderation.embeddings import MAX_CHARS

if TYPE_CHECKING:
    from agora.encoders.factory import Encoders
    from agora.mlops.base import ModelStore
    from agora.moderation.service import ModerationService

log = logging.getLogger("agora.language")
CHAMPION = "champion"
#: Answer field -> the head that fills it.
HEADS = {
    "sentiment": "language-sentiment",
    "emotion": "language-emotion",
    "intent": "language-chat-intent",
    "fine_intent": "language-intent",
}
TOP_FINE = 5


class HeadProvider:
    """Champion heads of one model store, cached with a refresh period (thread-safe)."""

    def __init__(self, store: Callable[[], ModelStore], refresh_s: float = 60.0) -> None:
        self._open_store = store
        self.refresh_s = refresh_s
        self._heads: dict[str, TextHead] = {}
        self._checked = -float("inf")
        self._lock = threading.Lock()

    def _load(self, store: ModelStore, name: str) -> None:
        try:
            info = store.info(name, alias=CHAMPION)
        except NotFound:
            self._heads.pop(name, None)
            return
        current = self._heads.get(name)
        if current is not None and current.version == info.ref.version:
            return
        head: TextHead = store.load(name, version=info.ref.version)
        head.version = info.ref.version
        self._heads[name] = head

    def heads(self) -> dict[str, TextHead]:
        """Name -> champion head (absent names have none); raises if the store fails."""
        with self._lock:
            if time.monotonic() - self._checked >= self.refresh_s:
                store = self._open_store()
                for name in HEADS.values():
                    self._load(store, name)
                self._checked = time.monotonic()
            return dict(self._heads)

    def install(self, heads: Sequence[TextHead]) -> None:
        """Serve already-loaded heads (right after training, in tests and benchmarks)."""
        with self._lock:
            for head in heads:
                self._heads[head.name] = head
            self._checked = time.monotonic()


class TextUnderstanding:
    """Moderation plus sentiment, emotion, intent and language for texts."""

    def __init__(
        self, moderation: ModerationService, heads: HeadProvider, encoders: Encoders
    ) -> None:
        self.moderation = moderation
        self.provider = heads
        self.encoders = encoders

    def encode(self, texts: Sequence[str], profile: str = "minilm") -> np.ndarray:
        """One encoder call for the texts (each cut as moderation cuts it)."""
        cut = [truncate_words(t, MAX_CHARS) for t in texts]
        return np.asarray(self.encoders.text(profile).encode_queries(cut), dtype=np.float32)

    def analyze(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Moderation verdict plus the heads' answers, one dict per text."""
        limit = self.moderation.settings.moderation.max_text_chars
        for i, text in enumerate(texts):
            if len(text) > limit:
                where = f"text {i}" if len(texts) > 1 else "text"
                raise PayloadTooLarge(f"{where} exceeds {limit} characters")
        try:
            heads = self.provider.heads()
        # The store is down: moderation still answers, the heads say they are absent.
        except Exception as exc:  # noqa: BLE001
            log.warning("language heads unavailable: %s", exc)
            heads = {}
        vectors = self.encode(texts) if texts else np.zeros((0, 384), np.float32)
        answers: dict[str, list[HeadResult]] = {}
        for field, name in HEADS.items():
            head = heads.get(name)
            if head is not None:
                answers[field] = head.predict(list(texts), vectors)
        out = []
        for i, text in enumerate(texts):
            verdict = self.moderation.analyze_text(text).to_dict()
            for field in HEADS:
                result = answers.get(field)
                if result is None:
                    verdict[field] = None
                    continue
                # 151 CLINC classes: the five likeliest are enough to read.
                verdict[field] = result[i].to_dict(top=TOP_FINE if field == "fine_intent" else None)
                verdict["models"].append(result[i].model)
            emotion = verdict.get("emotion")
            if emotion is not None:  # the class probabilities read as intensities
                emotion["intensities"] = emotion.pop("scores")
            verdict["heads_unavailable"] = [f for f in HEADS if answers.get(f) is None]
            out.append(verdict)
        return out
