"""What one API process serves: loaded versions, canary choice, trending and precomputed lists.

A loaded model is kept for a minute before the model store is asked again,
in a background thread (it keeps serving while the store still has that
version), and the
champion/challenger deployment row for at most ``DEPLOYMENT_TTL_S`` seconds,
so a promotion reaches every process quickly without each request paying
MLflow or a query.
"""

from __future__ import annotations

import logging
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
from agora.storage.tables import stored_utc

if TYPE_CHECKING:
    from collections.abc import Mapping

    from agora.config import RecommendSettings
    from agora.mlops.base import ModelStore
    from agora.mlops.canary import CanaryRouter
    from agora.storage.database import Database

_PRECOMPUTED = select(RecoListRow.model, RecoListRow.computed_at, RecoListRow.items).where(
    RecoListRow.kind == bindparam("kind"), RecoListRow.key == bindparam("key")
)
log = logging.getLogger(__name__)
DEPLOYMENT_TTL_S = 5.0  # how stale this process's view of champion/challenger may be
MODEL_TTL_S = 60.0  # how long a loaded model is served before the store is asked again


class ServedModels:
    """Per-process cache of served recommender versions and trending lists."""

    def __init__(
        self,
        db: Database,
        models: ModelStore,
        serving: CanaryRouter,
        settings: RecommendSettings,
        affinity_weights: Mapping[str, float],
    ) -> None:
        """Versions come from ``models`` as ``serving`` (champion or canary) picks them;
        precomputed and trending lists from the catalog ``db`` (trending computed with
        ``settings`` and ``affinity_weights`` when none was stored)."""
        self.db, self.models, self.serving = db, models, serving
        self.settings, self.affinity_weights = settings, affinity_weights
        self._models: dict[str, tuple[float, Recommender | None, str]] = {}
        self._trending: tuple[float, TrendingRecommender, str] | None = None
        self._deployments: dict[str, tuple[float, Any]] = {}
        self._refreshing: dict[str, threading.Thread] = {}
        self._generation = 0  # bumped by reload(): a check begun before it is dropped
        self._lock = threading.Lock()

    def model(self, algorithm: str, user_id: str | None = None) -> Recommender:
        """The served version of ``reco-<algorithm>``; NotFound when there is none.

        A loaded model is trusted for a minute; after that it keeps serving
        while a background thread asks the store whether the version changed
        (and loads the new one), so no request pays MLflow (~17 ms) or an
        unpickling (~30 ms for the hybrid); a new version that fails to load
        leaves the loaded one serving. A model that never loaded is retried by
        the next request after a minute.
        """
        try:
            cls = MODEL_CLASSES[algorithm]
        except ImportError as exc:  # a PyTorch model without torch installed
            raise NotFound(f"model reco-{algorithm} unavailable: {exc}") from exc
        version = self._served_version(cls.name, user_id)
        key = f"{algorithm}@{version or 'latest'}"
        now = time.monotonic()
        with self._lock:
            cached = self._models.get(key)
        if cached is not None and cached[1] is not None:
            if now - cached[0] >= MODEL_TTL_S:
                self._refresh_soon(key, cls, version, cached[1])
            return cached[1]
        if cached is not None and now - cached[0] < MODEL_TTL_S:
            raise NotFound(cached[2])
        model, reason = self._load(cls, version)
        with self._lock:
            self._models[key] = (now, model, reason)
        if model is None:
            raise NotFound(reason)
        return model

    def _load(self, cls: type[Recommender], version: str | None) -> tuple[Recommender | None, str]:
        try:
            return cls.load(self.models, version=version), ""
        # Missing artifact, corrupt pickle, registry down: the caller falls back.
        except Exception as exc:  # noqa: BLE001
            return None, f"model reco-{cls.name} unavailable: {exc}"

    def _refresh_soon(
        self, key: str, cls: type[Recommender], version: str | None, loaded: Recommender
    ) -> None:
        """Check ``loaded`` against the store in a background thread (one per key at a time)."""
        with self._lock:
            running = self._refreshing.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._refresh,
                args=(key, cls, version, loaded, self._generation),
                name=f"reco-model-refresh-{key}",
                daemon=True,
            )
            self._refreshing[key] = thread
            thread.start()  # under the lock: a second caller sees it alive

    def _refresh(
        self,
        key: str,
        cls: type[Recommender],
        version: str | None,
        loaded: Recommender,
        generation: int,
    ) -> None:
        now = time.monotonic()
        model = loaded
        try:
            ref = self.models.info(loaded.model_name, version=version).ref
        except NotFound:  # the version was deleted: the next request loads or falls back
            with self._lock:
                if generation == self._generation:
                    self._models.pop(key, None)
            return
        # Store unreachable: keep serving what is loaded, ask again later.
        except Exception:  # noqa: BLE001
            ref = None
        if ref is not None and str(ref) != loaded.model_key:
            newer, reason = self._load(cls, version)
            if newer is None:  # a broken new artifact: the loaded one keeps serving
                log.warning("%s; still serving %s", reason, loaded.model_key)
            model = newer if newer is not None else loaded
        with self._lock:
            if generation == self._generation:
                self._models[key] = (now, model, "")

    def join_refreshes(self, timeout: float = 5.0) -> None:
        """Wait for the background model checks under way (tests)."""
        with self._lock:
            threads = list(self._refreshing.values())
        for thread in threads:
            thread.join(timeout)

    def _served_version(self, algorithm: str, user_id: str | None) -> str | None:
        """The canary's choice (champion or challenger) when the registry has one, else latest.

        The deployment row (champion, challenger, share) is read at most every
        ``DEPLOYMENT_TTL_S`` seconds per model, and the per-user split is
        computed here (a hash, no query): a promotion or rollback reaches this
        process within that bound instead of costing every request a query.
        """
        dep = self._deployment(f"reco-{algorithm}")
        try:
            choice = self.serving.choose(dep, user_id) if dep else None
        except Exception:  # noqa: BLE001 - registry down: no precomputed version
            return None
        return None if choice is None else choice.ref.version

    def _deployment(self, name: str) -> Any:
        """``name``'s deployment row, read at most every ``DEPLOYMENT_TTL_S`` seconds."""
        now = time.monotonic()
        cached = self._deployments.get(name)
        if cached is None or now - cached[0] > DEPLOYMENT_TTL_S:
            try:
                dep = self.serving.registry.deployment(name)
            except Exception:  # noqa: BLE001 - registry down: no canary until it answers
                dep = None
            cached = (now, dep)
            self._deployments[name] = cached
        return cached[1]

    def in_canary(self, model_key: str, user_id: str) -> bool:
        """Whether ``user_id`` is in a comparison group of the canary of ``model_key``'s model.

        The groups: the challenger's share and an equal slice of the champion's
        users (``CanaryRouter.compared``). Reads only this process's last view
        of the deployment row (no query: cache hits ask it on the event loop);
        a model never scored here is in no canary.
        """
        name, _, version = model_key.partition("@")
        cached = self._deployments.get(name)
        dep = cached[1] if cached is not None else None
        if dep is None or version not in (dep.champion, dep.challenger):
            return False  # a list of a version no longer in this canary
        try:
            return self.serving.compared(dep, user_id)
        except Exception:  # noqa: BLE001 - no registry: no canary
            return False

    def reload(self) -> None:
        """Forget loaded models and trending lists (after training)."""
        with self._lock:
            self._generation += 1
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
        with self.db.engine.connect() as conn:  # Core: asked on every request
            row = conn.execute(_PRECOMPUTED, {"kind": f"user:{arm}", "key": user_id}).first()
        if row is None or row.model != model_key:
            return None
        if datetime.now(UTC) - stored_utc(row.computed_at) > timedelta(seconds=max_age_s):
            return None
        return [ScoredItem(a, s, src) for a, s, src in row.items]

    def trending(self) -> TrendingRecommender:
        """Trending lists as last refreshed (``refresh_trending``); computed once if none."""
        now = time.monotonic()
        if self._trending is not None and now - self._trending[0] < 60.0:
            return self._trending[1]
        from agora.recommend.trending_store import compute_trending, load_trending

        model = load_trending(self.db)
        if model is None:
            model = compute_trending(self.db, self.settings, self.affinity_weights)
        key = f"reco-trending@{int(model.computed_at or 0)}"
        self._trending = (now, model, key)
        return model

    def trending_key(self) -> str:
        """``reco-trending@<computed_at>`` of the lists :meth:`trending` serves."""
        self.trending()
        assert self._trending is not None
        return self._trending[2]
