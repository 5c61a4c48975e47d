"""Serving the trained heads: the model store's champion ``tag-heads`` and its canary, cached.

The champion is looked up at most every ``refresh_s`` seconds (an MLflow
round trip per request would cost more than the prediction), and reloaded
only when its version changes. With a database (the service always gives
one), the deployment row is read with it: while a challenger is in canary
(a retrain passed the gate), the assets inside the canary share
(``canary_position`` of the asset id) are tagged by the challenger, and every
prediction is reported per version to a ``CanaryMonitor`` flushed every
``flush_s`` seconds, so the canary judge can promote or roll it back. (Before,
a challenger was never served, its canary never saw a request, and retrained
heads never reached production.) Reviews of the tags a version suggested are
its outcomes (:meth:`HeadsTagger.report_feedback`: the first review of a
suggestion is an impression, a confirmation a click), so the judge's CTR
floor compares the versions' acceptance rates.

A reset of a category (``agora.tagging.reset``) retires the versions
registered before it for that category: their tags of it are dropped and
the category is not ``covered``, so zero-shot tags it again. The resets are
read with every lookup (and at once after ``refresh``).

Example:
    >>> tagger = HeadsTagger(platform.models, encoder_key="effnet...")  # doctest: +SKIP
    >>> tagger.predict_features(feats)  # doctest: +SKIP
    [Tag(name='tank', confidence=0.93, category='object_type', source_model='tag-heads@4')]
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from agora.domain import ModelRef
from agora.errors import NotFound
from agora.mlops.base import ModelStore
from agora.mlops.canary import CanaryMonitor, CanaryRouter
from agora.mlops.registry import Deployment, ModelRegistry
from agora.storage.database import Database
from agora.tagging.base import ImageFeatures, Tag
from agora.tagging.features import head_input
from agora.tagging.heads import TagHeads
from agora.tagging.reset import retired_upto, serves
from agora.tagging.tables import TagFeedbackRow, TagResultRow
from agora.tagging.training import HEADS_MODEL

log = logging.getLogger(__name__)


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
    """Champion heads from the model store, and a challenger in canary (no champion: no tags)."""

    def __init__(
        self,
        models: ModelStore,
        *,
        encoder_key: str,
        refresh_s: float = 10.0,
        db: Database | None = None,
        canary_share: float = 0.05,
        flush_s: float = 10.0,
    ) -> None:
        self.models = models
        self.encoder_key = encoder_key
        self.refresh_s = refresh_s
        self.flush_s = flush_s
        registry = ModelRegistry(models, db) if db is not None else None
        self.router = CanaryRouter(registry, canary_share) if registry is not None else None
        self.monitor = CanaryMonitor(db) if db is not None else None
        # While a canary runs: its deployment row and the challenger's heads.
        self._canary_heads: tuple[Deployment, TagHeads] | None = None
        self._lock = threading.Lock()
        self._checked = -1.0  # negative: never looked up
        self._version: str | None = None
        self._snapshot = 0
        self._heads: TagHeads | None = None
        self._refreshing = False
        self.db = db
        # Per category, the newest heads version a reset retired (agora.tagging.reset).
        self._retired: dict[str, int] = {}

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
        except Exception:  # noqa: BLE001 - the registry is down: keep serving what we have
            with self._lock:
                self._checked = time.monotonic()
            return
        heads, version, snapshot = self._heads, self._version, self._snapshot
        if info.ref.version != version:
            loaded = self._load(info.ref.version, info.features)
            heads, version = loaded, info.ref.version if loaded is not None else None
            match = re.search(r"<=(\d+)", info.data_snapshot or "")
            snapshot = int(match.group(1)) if match and loaded is not None else 0
        canary = self._canary(version)
        retired = self._read_retired()
        with self._lock:
            self._heads, self._version, self._snapshot = heads, version, snapshot
            self._canary_heads = canary
            self._retired = retired
            self._checked = time.monotonic()

    def _read_retired(self) -> dict[str, int]:
        if self.db is None:
            return {}
        try:
            return retired_upto(self.db)
        except Exception:  # noqa: BLE001 - the database is down: keep the resets we know
            return self._retired

    def _load(self, version: str, features: list[str] | None) -> TagHeads | None:
        """The heads of ``version``; None for heads of another encoder (they must not
        see these vectors) or anything that is not heads."""
        loaded: Any = self.models.load(HEADS_MODEL, version=version)
        ok = isinstance(loaded, TagHeads) and self.encoder_key in (features or [])
        return loaded if ok else None

    def _canary(self, champion: str | None) -> tuple[Deployment, TagHeads] | None:
        """The deployment row and the challenger's heads while a canary runs on ``champion``."""
        if self.router is None:
            return None
        try:
            dep = self.router.registry.deployment(HEADS_MODEL)
            challenger = dep.challenger_against(champion)
            if challenger is None:
                return None
            current = self._canary_heads
            if current is not None and current[0].challenger == challenger:
                return dep, current[1]
            info = self.models.info(HEADS_MODEL, version=challenger)
            heads = self._load(challenger, info.features)
            return (dep, heads) if heads is not None else None
        except Exception:  # noqa: BLE001 - the registry is down: the champion serves everything
            return None

    def champion_version(self) -> str | None:
        return self._current()[0]

    def champion_snapshot(self) -> int:
        """Last feedback id the champion was trained on (0: none)."""
        self._current()
        return self._snapshot

    def covered(self) -> set[tuple[str, str]]:
        """Tags the champion heads learnt from confirmed examples (and still serve)."""
        version, heads = self._current()
        if heads is None:
            return set()
        retired = self._retired
        return {key for key in heads.tags if serves(retired, version, key[0])}

    def _serving(self, tags: list[Tag], version: str | None) -> list[Tag]:
        """``tags`` of ``version`` without the categories a reset retired it for."""
        retired = self._retired
        return [t for t in tags if serves(retired, version, t.category)] if retired else tags

    def predict_features(self, feats: ImageFeatures, subject_id: str | None = None) -> list[Tag]:
        """Tags of one asset's image features (``subject_id``: the asset, for the canary)."""
        return self.predict_row(head_input(feats), subject_id)

    def predict_row(self, row: np.ndarray, subject_id: str | None = None) -> list[Tag]:
        """Tags of one head-input row, by the champion or, inside the canary share, the
        challenger; the version's request is reported (a failing challenger falls back)."""
        version, heads = self._current()
        if heads is None or version is None:
            return []
        canary = self._canary_heads
        if canary is not None and self.router is not None:
            dep, challenger = canary
            if dep.challenger is not None and self.router.serves_challenger(dep, subject_id):
                started = time.perf_counter()
                try:
                    tags = heads_tags(challenger, row, f"{HEADS_MODEL}@{dep.challenger}")
                    self._report(dep.challenger, started)
                    return self._serving(tags, dep.challenger)
                except Exception:
                    log.exception("%s@%s failed; the champion tags", HEADS_MODEL, dep.challenger)
                    self._report(dep.challenger, started, error=True)
        started = time.perf_counter()
        try:
            tags = heads_tags(heads, row, f"{HEADS_MODEL}@{version}")
        except Exception:
            self._report(version, started, error=True)
            raise
        self._report(version, started)
        return self._serving(tags, version)

    def _report(self, version: str, started: float, *, error: bool = False) -> None:
        if self.monitor is None:
            return
        latency_s = time.perf_counter() - started
        self.monitor.record_request(ModelRef(HEADS_MODEL, version), latency_s, error=error)
        self.monitor.flush_if_due(self.flush_s)

    def report_feedback(
        self,
        suggested: Sequence[Mapping[str, Any]],
        verdicts: Sequence[tuple[tuple[str, str], str]],
    ) -> int:
        """Credit reviews of suggested tags to the heads versions that suggested them.

        ``suggested`` are the asset's served tags (``source_model``,
        ``agreed_by``), ``verdicts`` ((category, name), confirm|reject), each
        a first review of that suggestion (:func:`first_reviews`). A review of
        a tag a heads version suggested is one impression of that version and
        a confirmation one click, so the canary judge's CTR floor compares the
        versions' acceptance rates. Tags the heads never suggested are no
        one's outcome. Flushed at once (reviews are rare; a tally waiting for
        the next flush could wait for ever). Returns the outcomes reported.
        """
        if self.monitor is None:
            return 0
        by_key = {(str(t.get("category")), str(t.get("name"))): t for t in suggested}
        reported = 0
        for key, verdict in verdicts:
            tag = by_key.get(key)
            if tag is None:
                continue
            models = {str(tag.get("source_model", "")), *map(str, tag.get("agreed_by") or ())}
            for model in models:
                name, _, version = model.partition("@")
                if name == HEADS_MODEL and version:
                    clicks = int(verdict == "confirm")
                    self.monitor.record_outcome(
                        ModelRef(name, version), impressions=1, clicks=clicks
                    )
                    reported += 1
        if reported:
            try:
                self.monitor.flush()
            except Exception:  # a monitoring figure: never fail the review for it
                log.exception("tag-heads review outcomes not written")
        return reported

    def flush(self) -> None:
        """Persist the per-version figures now (also done every ``flush_s`` seconds)."""
        if self.monitor is not None:
            self.monitor.flush()


def first_reviews(
    session: Session, asset_id: str, verdicts: Sequence[tuple[tuple[str, str], str]]
) -> tuple[list[Any], list[tuple[tuple[str, str], str]]]:
    """(the asset's served tags, the verdicts that first review one of them).

    Read in the feedback's session before its rows are added: a tag reviewed
    again (by the owner, then a moderator, or twice in one request) since the
    asset was last tagged is one impression, not several.
    """
    served = session.get(TagResultRow, asset_id)
    if served is None:
        return [], []
    before = set(
        session.execute(
            select(TagFeedbackRow.category, TagFeedbackRow.label).where(
                TagFeedbackRow.asset_id == asset_id,
                TagFeedbackRow.created_at >= served.processed_at,
            )
        ).tuples()
    )
    first: list[tuple[tuple[str, str], str]] = []
    for key, verdict in verdicts:
        if key not in before:
            before.add(key)
            first.append((key, verdict))
    return list(served.tags), first
