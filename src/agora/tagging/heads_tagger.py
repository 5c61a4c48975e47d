"""Serving the trained heads: the model store's champion ``tag-heads``, cached.

The champion is looked up at most every ``refresh_s`` seconds (an MLflow
round trip per request would cost more than the prediction), and reloaded
only when its version changes.

Example:
    >>> tagger = HeadsTagger(platform.models, encoder_key="effnet...")  # doctest: +SKIP
    >>> tagger.predict_features(feats)  # doctest: +SKIP
    [Tag(name='tank', confidence=0.93, category='object_type', source_model='tag-heads@4')]
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import numpy as np

from agora.errors import NotFound
from agora.mlops.base import ModelStore
from agora.tagging.base import ImageFeatures, Tag
from agora.tagging.features import head_input
from agora.tagging.heads import TagHeads
from agora.tagging.training import HEADS_MODEL


def heads_tags(
    heads: TagHeads, row: np.ndarray, model: str, *, top_n: int = 3, floor: float = 0.05
) -> list[Tag]:
    """Tags from one head-input row: the ``top_n`` most probable per category above ``floor``."""
    probs = heads.predict_proba(row[None, :])
    by_cat: dict[str, list[tuple[float, str]]] = {}
    for (category, label), p in probs.items():
        by_cat.setdefault(category, []).append((float(p[0]), label))
    tags = []
    for category, scored in by_cat.items():
        for prob, label in sorted(scored, reverse=True)[:top_n]:
            if prob >= floor:
                tags.append(Tag(label, prob, category, model))
    return tags


class HeadsTagger:
    """Champion heads from the model store (no champion yet: no tags)."""

    def __init__(self, models: ModelStore, *, encoder_key: str, refresh_s: float = 10.0) -> None:
        self.models = models
        self.encoder_key = encoder_key
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._checked = -1.0  # negative: never looked up
        self._version: str | None = None
        self._snapshot = 0
        self._heads: TagHeads | None = None
        self._refreshing = False

    def refresh(self) -> None:
        """Look the champion up again now (after a training run)."""
        self._lookup()

    def _current(self) -> tuple[str | None, TagHeads | None]:
        with self._lock:
            stale = time.monotonic() - self._checked >= self.refresh_s
            first = self._checked < 0
            if stale and not first and not self._refreshing:
                # A registry round trip can take a second on a busy machine: requests
                # keep the cached champion while a thread looks for a new one.
                self._refreshing = True
                threading.Thread(target=self._refresh_quietly, daemon=True).start()
            if not (stale and first):
                return self._version, self._heads
        self._lookup()
        return self._version, self._heads

    def _refresh_quietly(self) -> None:
        try:
            self._lookup()
        finally:
            self._refreshing = False

    def _lookup(self) -> None:
        try:
            info = self.models.info(HEADS_MODEL, alias="champion")
        except NotFound:
            with self._lock:
                self._version, self._heads, self._snapshot = None, None, 0
                self._checked = time.monotonic()
            return
        except Exception:  # the registry is down: keep serving what we have
            with self._lock:
                self._checked = time.monotonic()
            return
        heads, version, snapshot = self._heads, self._version, self._snapshot
        if info.ref.version != version:
            loaded: Any = self.models.load(HEADS_MODEL, version=info.ref.version)
            if isinstance(loaded, TagHeads) and self.encoder_key in (info.features or []):
                heads, version = loaded, info.ref.version
                match = re.search(r"<=(\d+)", info.data_snapshot or "")
                snapshot = int(match.group(1)) if match else 0
            else:  # heads of another encoder must not see these vectors
                heads, version, snapshot = None, None, 0
        with self._lock:
            self._heads, self._version, self._snapshot = heads, version, snapshot
            self._checked = time.monotonic()

    def champion_version(self) -> str | None:
        return self._current()[0]

    def champion_snapshot(self) -> int:
        """Last feedback id the champion was trained on (0: none)."""
        self._current()
        return self._snapshot

    def covered(self) -> set[tuple[str, str]]:
        """Tags the champion heads learnt from confirmed examples."""
        heads = self._current()[1]
        return set(heads.tags) if heads is not None else set()

    def predict_features(self, feats: ImageFeatures) -> list[Tag]:
        version, heads = self._current()
        if heads is None:
            return []
        return heads_tags(heads, head_input(feats), f"{HEADS_MODEL}@{version}")
