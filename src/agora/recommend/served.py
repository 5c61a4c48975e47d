"""What one API process serves: loaded versions, canary choice, trending and precomputed lists.

A loaded model is kept for a minute before the model store is asked again
(and kept on while the store still has that version), and the
champion/challenger deployment row for at most ``DEPLOYMENT_TTL_S`` seconds,
so a promotion reaches every process quickly without each request paying
MLflow or a query.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from agora.errors import NotFound
from agora.recommend.base import Recommender, ScoredItem
from agora.recommend.registry import MODEL_CLASSES, PERSONAL_ARMS
from agora.recommend.tables import RecoListRow
from agora.recommend.trending import TrendingRecommender

if TYPE_CHECKING:
    from agora.runtime import Platform

_PRECOMPUTED = select(RecoListRow.model, RecoListRow.computed_at, RecoListRow.items).where(
    RecoListRow.kind == bindparam("kind"), RecoListRow.key == bindparam("key")
)
DEPLOYMENT_TTL_S = 5.0  # how stale this process's view of champion/challenger may be


class ServedModels:
    """Per-process cache of served recommender versions and trending lists."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._models: dict[str, tuple[float, Recommender | None, str]] = {}
        self._trending: tuple[float, TrendingRecommender, str] | None = None
        self._deployments: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def model(self, algorithm: str, user_id: str | None = None) -> Recommender:
        """The served version of ``reco-<algorithm>``; NotFound when there is none.

        A loaded model is kept for a minute before the store is asked again, so
        a new champion is picked up without a request paying MLflow every time.
        """
        cls = MODEL_CLASSES[algorithm]
        version = self._served_version(cls.name, user_id)
        key = f"{algorithm}@{version or 'latest'}"
        now = time.monotonic()
        with self._lock:
            cached = self._models.get(key)
        if cached is not None and now - cached[0] < 60.0:
            if cached[1] is None:
                raise NotFound(cached[2])
            return cached[1]
        if cached is not None and cached[1] is not None and self._unchanged(cached[1], version):
            # The store still serves the loaded version: keep it (a reload
            # unpickled the 26 MB hybrid, ~30 ms, into a request every minute).
            with self._lock:
                self._models[key] = (now, cached[1], "")
            return cached[1]
        try:
            model: Recommender | None = cls.load(self.platform.models, version=version)
            reason = ""
        except Exception as exc:  # missing artifact, corrupt pickle, registry down
            model, reason = None, f"model reco-{cls.name} unavailable: {exc}"
        with self._lock:
            self._models[key] = (now, model, reason)
        if model is None:
            raise NotFound(reason)
        return model

    def _unchanged(self, model: Recommender, version: str | None) -> bool:
        """Whether the store's ``version`` (latest when None) is the one ``model`` was loaded as."""
        try:
            ref = self.platform.models.info(model.model_name, version=version).ref
        except Exception:  # registry down: reload (and report) as before
            return False
        return str(ref) == model.model_key

    def _served_version(self, algorithm: str, user_id: str | None) -> str | None:
        """The canary's choice (champion or challenger) when the registry has one, else latest.

        The deployment row (champion, challenger, share) is read at most every
        ``DEPLOYMENT_TTL_S`` seconds per model, and the per-user split is
        computed here (a hash, no query): a promotion or rollback reaches this
        process within that bound instead of costing every request a query.
        """
        name = f"reco-{algorithm}"
        now = time.monotonic()
        cached = self._deployments.get(name)
        if cached is None or now - cached[0] > DEPLOYMENT_TTL_S:
            try:
                dep = self.platform.serving.registry.deployment(name)
            except Exception:
                dep = None
            cached = (now, dep)
            self._deployments[name] = cached
        try:
            choice = self.platform.serving.choose(cached[1], user_id) if cached[1] else None
        except Exception:
            return None
        return None if choice is None else choice.ref.version

    def reload(self) -> None:
        """Forget loaded models and trending lists (after training)."""
        with self._lock:
            self._models.clear()
            self._trending = None
            self._deployments.clear()

    def available_arms(self) -> list[str]:
        """Algorithms that can serve now (trending always can)."""
        arms = []
        for name in PERSONAL_ARMS:
            try:
                self.model(name)
                arms.append(name)
            except NotFound:
                continue
        return [*arms, "trending"]

    def precomputed(
        self, user_id: str, arm: str, model_key: str, *, max_age_s: float
    ) -> list[ScoredItem] | None:
        """The user's list stored by the precompute job for ``model_key``, if fresh enough."""
        with self.platform.db.engine.connect() as conn:  # Core: asked on every request
            row = conn.execute(_PRECOMPUTED, {"kind": f"user:{arm}", "key": user_id}).first()
        if row is None or row.model != model_key:
            return None
        computed = row.computed_at
        computed = computed if computed.tzinfo else computed.replace(tzinfo=UTC)
        if datetime.now(UTC) - computed > timedelta(seconds=max_age_s):
            return None
        return [ScoredItem(a, s, src) for a, s, src in row.items]

    def trending(self) -> TrendingRecommender:
        """Trending lists as last refreshed (``refresh_trending``); computed once if none."""
        now = time.monotonic()
        if self._trending is not None and now - self._trending[0] < 60.0:
            return self._trending[1]
        from agora.recommend.jobs import compute_trending, load_trending

        model = load_trending(self.platform.db)
        if model is None:
            model = compute_trending(self.platform)
        key = f"reco-trending@{int(model.computed_at or 0)}"
        self._trending = (now, model, key)
        return model

    def trending_key(self) -> str:
        """``reco-trending@<computed_at>`` of the lists :meth:`trending` serves."""
        self.trending()
        assert self._trending is not None
        return self._trending[2]
