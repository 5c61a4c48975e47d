"""Serving: consent, cold start, bandit, cache, precomputed lists, catalog filter, fallback.

``platform.recommendations`` is a :class:`RecommendationService`. One request:

1. ``algorithm`` is validated (``smart`` asks the bandit for the user's segment);
2. users without ``allows_personalization`` get non-personal trending;
3. the user's live history is read (failure -> trending, flagged ``fallback``);
4. cold start: no history -> trending plus, for ``session_views``, the
   transformer's next items after the session (``transformer``, ``smart``) or
   content similar to it;
5. otherwise a fresh precomputed list, or on-demand scoring of the model the
   model store serves (the MLOps canary picks champion or challenger; each
   scoring is reported to ``platform.canary_monitor``: requests, errors,
   latency); a missing or broken artifact, or a failed scoring -> trending,
   flagged and counted;
6. the catalog filter (``agora.eligibility``: active, in stock, seller not
   banned, no admin ban of the asset, seller or category, not purchased),
   seller diversity, trending padding, then the TTL cache; a cache hit is
   re-checked against the in-process catalog gate (no query). The API logs
   the lists it returns to a canary's comparison groups (``canary_log``).

Example:
    >>> recs = platform.recommendations.recommend("u-1", n=10, algorithm="smart")  # doctest: +SKIP
    >>> recs.algorithm, recs.model, recs.fallback  # doctest: +SKIP
    ('ease', 'reco-ease@3', False)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import select

from agora.eligibility.rules import Bans
from agora.errors import InvalidInput, NotFound
from agora.ops.fallbacks import count_fallback
from agora.recommend.bandit import ThompsonBandit, segment_of
from agora.recommend.base import (
    Recommendations,
    Recommender,
    RecommendFilters,
    ScoredItem,
)
from agora.recommend.cache import create_cache
from agora.recommend.canary_log import CanaryServingLog
from agora.recommend.data import UserHistory, user_history
from agora.recommend.eligibility import filter_items
from agora.recommend.gate import CatalogGate
from agora.recommend.list_cache import ServedListCache, list_key
from agora.recommend.names import served_algorithm
from agora.recommend.served import ServedModels
from agora.storage.tables import AssetRow

if TYPE_CHECKING:
    from agora.config import FeatureSettings, RecommendSettings
    from agora.eligibility.view import CatalogView
    from agora.features.base import OverrideReader
    from agora.governance.consent import ConsentRegistry
    from agora.mlops.canary import CanaryMonitor
    from agora.storage.database import Database

log = logging.getLogger(__name__)
MAX_N = 1000
# Algorithms whose anonymous sessions the sequential model scores directly.
SESSION_MODELS = frozenset({"transformer", "smart"})
RECO_REQUESTS = Counter(
    "agora_recommend_requests_total", "Recommendation lists served", ["algorithm", "outcome"]
)
RECO_FALLBACKS = Counter(
    "agora_recommend_fallbacks_total", "Lists answered by trending instead", ["requested", "reason"]
)


class RecommendationService:
    """Per-process serving state: loaded models, trending lists, cache, bandit."""

    def __init__(
        self,
        db: Database,
        consent: ConsentRegistry,
        monitor: CanaryMonitor,
        served: ServedModels,
        settings: RecommendSettings,
        features: FeatureSettings,
        overrides: OverrideReader,
        *,
        view: CatalogView,
    ) -> None:
        """The catalog ``db``; ``consent`` decides who gets personal lists; ``monitor``
        counts each served version's requests (canary); ``served``: the loaded models;
        ``overrides``: the admin bans every list honours; ``view``: the process's
        catalog view, which cached lists are re-checked against."""
        self.db, self.consent, self.monitor = db, consent, monitor
        self.overrides = overrides
        self.settings = settings
        self.features = features
        self.cache = create_cache(self.settings.cache_url, self.settings.cache_ttl_s)
        self.gate = CatalogGate(
            db,
            view=view,
            refresh_s=self.settings.catalog_recheck_s,
            purchase_ttl_s=self.settings.cache_ttl_s,
            overrides=overrides,
        )
        self.lists = ServedListCache(self.cache, self.gate)
        self.bandit = ThompsonBandit(db)
        self.served = served
        self.canary_log = CanaryServingLog(db, self.served.in_canary)
        # The served-model lookups are the service's own API too.
        self.model = self.served.model
        self.available_arms = self.served.available_arms
        self.trending = self.served.trending
        self.trending_key = self.served.trending_key

    def reload(self) -> None:
        """Forget loaded models, trending lists and cached responses (after training)."""
        self.served.reload()
        self.cache.clear()

    # -- serving -----------------------------------------------------------------
    def recommend(
        self,
        user_id: str,
        n: int = 10,
        *,
        algorithm: str = "smart",
        category: str | None = None,
        session_views: Sequence[str] = (),
        use_cache: bool = True,
    ) -> Recommendations:
        """A filtered, diversified list of ``n`` assets for ``user_id``.

        ``algorithm`` may be a seed 003 name (``agora.recommend.names``): the
        list, its cache entry and ``requested_algorithm`` carry the Agora name."""
        algorithm = served_algorithm(algorithm)
        if not isinstance(n, int) or not 1 <= n <= MAX_N:
            raise InvalidInput(f"n must be an integer between 1 and {MAX_N}")
        cache_key = list_key(user_id, algorithm, category, n)
        if use_cache and not session_views:
            cached = self._hit(cache_key, user_id, category)
            if cached is not None:
                return cached
        recs = self._compute(user_id, n, algorithm, category, list(session_views))
        RECO_REQUESTS.labels(recs.algorithm, "fallback" if recs.fallback else "ok").inc()
        if use_cache and not session_views:
            self.lists.store(cache_key, recs)
        return recs

    def cached(
        self, user_id: str, n: int, *, algorithm: str, category: str | None = None
    ) -> Recommendations | None:
        """The cached list when it is answerable without blocking, else None.

        Only the in-process cache with a fresh catalog gate qualifies (no I/O):
        the API answers such hits on the event loop, without a thread hop, and
        hands everything else to :meth:`recommend` in a worker thread.
        """
        if not self.lists.answerable_now():
            return None
        algorithm = served_algorithm(algorithm)
        return self._hit(list_key(user_id, algorithm, category, n), user_id, category)

    def _hit(self, key: str, user_id: str, category: str | None) -> Recommendations | None:
        recs = self.lists.hit(key, user_id, category)
        if recs is not None:
            RECO_REQUESTS.labels(recs.algorithm, "cached").inc()
        return recs

    def _compute(
        self, user_id: str, n: int, algorithm: str, category: str | None, session: list[str]
    ) -> Recommendations:
        flags = self.consent.get(user_id)
        if not flags.allows_personalization:
            return self._trending_list(user_id, n, algorithm, category, None, personalized=False)
        try:
            history = user_history(
                self.db,
                user_id,
                weights=self.features.affinity_weights,
                half_life_s=self.features.affinity_half_life_s,
            )
        # The history store is down (any driver error): a non-personal answer.
        except Exception as exc:  # noqa: BLE001
            return self._fallback(user_id, n, algorithm, category, None, "history_unavailable", exc)
        segment = segment_of(history.n_events)
        if history.n_events == 0:
            return self._cold_start(user_id, n, algorithm, category, history, session, segment)
        arm = algorithm
        if algorithm == "smart":
            arm = self.bandit.choose(segment, self.available_arms())
        if arm == "trending":
            recs = self._trending_list(user_id, n, algorithm, category, history, segment=segment)
        else:
            try:
                model = self.model(arm, user_id)
            except NotFound as exc:
                return self._fallback(
                    user_id, n, algorithm, category, history, "model_unavailable", exc
                )
            max_age_s = self.settings.precompute_every_s * 1.5
            # A precomputed list predates the live session: a session is scored now.
            items = (
                None
                if session
                else self.served.precomputed(user_id, arm, model.model_key, max_age_s=max_age_s)
            )
            if items is None:
                started = time.perf_counter()
                try:
                    items = self._score(model, user_id, history, session, n, category)
                # A broken version (any error) answers trending, and is counted.
                except Exception as exc:  # noqa: BLE001
                    self._observe(model, started, error=True)
                    return self._fallback(
                        user_id, n, algorithm, category, history, "model_error", exc
                    )
                self._observe(model, started)
            recs = self._finish(
                user_id,
                items,
                n,
                arm,
                model.model_key,
                category,
                history,
                requested=algorithm,
                session=session,
            )
            recs = _with(recs, segment=segment)
        if algorithm == "smart":
            self.bandit.record_serving(user_id, segment, arm, [i.asset_id for i in recs.items])
        return recs

    def _observe(self, model: Recommender, started: float, *, error: bool = False) -> None:
        """The version's request for the canary judge (requests, errors, latency)."""
        if model.model_ref is not None:
            latency_s = time.perf_counter() - started
            self.monitor.record_request(model.model_ref, latency_s, error=error)

    def _score(
        self,
        model: Recommender,
        user_id: str,
        history: UserHistory,
        session: list[str],
        n: int,
        category: str | None,
    ) -> list[ScoredItem]:
        fetch = n * 3 + len(history.purchased) + 20
        # Oldest first, the session's views last and in the order viewed: the
        # transformer reads the history as a sequence, so the long-term events
        # and the live session are one input and the list follows each new view.
        live = dict(reversed(history.recent))
        for a in session:
            live[a] = live.pop(a, 0.0) + self.features.affinity_weights.get("view", 1.0)
        flt = RecommendFilters(category=None, region=history.region)
        # Factor models score known users from their trained factors; item-based
        # models (and ALS fold-in) score the live history, so fresh events count.
        # ``user`` lets the hybrid's re-ranker read who it is (attributes, active days).
        if model.name in ("als", "bpr") and model.knows_user(user_id) and not session:
            return model.recommend(user_id, fetch, filters=flt)
        return model.recommend_history(live, fetch, filters=flt, user=user_id)

    def _cold_start(
        self,
        user_id: str,
        n: int,
        algorithm: str,
        category: str | None,
        history: UserHistory,
        session: list[str],
        segment: str,
    ) -> Recommendations:
        """New user: the session's views scored by the transformer (``transformer``
        or ``smart``: the next item after this session) or by content similarity,
        then trending."""
        items: list[ScoredItem] = []
        models = [self.trending_key()]
        if session:
            hist = dict.fromkeys(session, 1.0)  # in the order viewed
            order = ["transformer", "content"] if algorithm in SESSION_MODELS else ["content"]
            for name in order:
                try:
                    model = self.model(name, user_id)
                except NotFound:
                    continue
                items = model.recommend_history(hist, n * 2, filters=None)
                if items:
                    models.insert(0, model.model_key)
                    break
            else:
                log.info("cold start without a session model: trending only")
        recs = self._finish(
            user_id,
            items,
            n,
            "cold_start",
            ",".join(models),
            category,
            history,
            requested=algorithm,
            session=session,
        )
        return _with(recs, personalized=bool(items), segment=segment)

    def _trending_list(
        self,
        user_id: str,
        n: int,
        algorithm: str,
        category: str | None,
        history: UserHistory | None,
        *,
        personalized: bool = False,
        segment: str | None = None,
    ) -> Recommendations:
        recs = self._finish(
            user_id, [], n, "trending", self.trending_key(), category, history, requested=algorithm
        )
        return _with(recs, personalized=personalized, segment=segment)

    def _fallback(
        self,
        user_id: str,
        n: int,
        algorithm: str,
        category: str | None,
        history: UserHistory | None,
        reason: str,
        exc: BaseException,
    ) -> Recommendations:
        log.warning("recommendations for %s fell back to trending (%s): %s", user_id, reason, exc)
        count_fallback(f"recommend_{reason}")
        RECO_FALLBACKS.labels(algorithm, reason).inc()
        recs = self._trending_list(user_id, n, algorithm, category, history)
        return _with(recs, fallback=True, fallback_reason=f"{reason}: {exc}"[:300])

    def _finish(
        self,
        user_id: str,
        items: list[ScoredItem],
        n: int,
        algorithm: str,
        model_key: str,
        category: str | None,
        history: UserHistory | None,
        *,
        requested: str,
        session: Sequence[str] = (),
    ) -> Recommendations:
        """Catalog filter, diversity, and padding from trending when short (never with
        what the user has seen, the live session's views included)."""
        purchased = history.purchased if history else frozenset()
        # Admin bans (a banned category included) apply to every list.
        bans = Bans.of(self.overrides.active_overrides())
        kept = filter_items(
            self.db,
            items,
            n=n,
            purchased=purchased,
            category=category,
            max_per_seller=self.settings.max_per_seller,
            bans=bans,
        )
        if len(kept) < n:
            have = {i.asset_id for i in kept} | set(purchased)
            seen = (
                (history.seen if history else frozenset()) | frozenset(session)
                if algorithm != "trending"
                else frozenset()
            )
            flt = RecommendFilters(
                category=category,
                region=history.region if history else None,
                exclude=frozenset(have | seen),
            )
            pad = self.trending().recommend(None, (n - len(kept)) * 3 + 10, filters=flt)
            # Padding ranks below every kept item; with nothing kept (cold start)
            # the trending velocities are the scores themselves.
            if kept:
                floor = min(i.score for i in kept)
                pad = [ScoredItem(i.asset_id, min(i.score, floor), i.source) for i in pad]
            extra = filter_items(
                self.db,
                pad,
                n=n - len(kept),
                purchased=purchased,
                category=category,
                max_per_seller=self.settings.max_per_seller,
                bans=bans,
            )
            kept += extra
        return Recommendations(
            user_id=user_id,
            items=kept[:n],
            algorithm=algorithm,
            model=model_key,
            requested_algorithm=requested,
        )

    # -- item to item ------------------------------------------------------------
    def similar_by_behaviour(self, asset_id: str, n: int = 10) -> Recommendations:
        """Assets co-engaged with ``asset_id`` (item-kNN, else EASE); a new asset with no
        interactions gets content neighbours; neither -> trending of its category."""
        if not 1 <= n <= MAX_N:
            raise InvalidInput(f"n must be between 1 and {MAX_N}")
        with self.db.session() as s:
            category = s.scalar(select(AssetRow.category).where(AssetRow.id == asset_id))
            exists = s.get(AssetRow, asset_id) is not None
        if not exists:
            raise NotFound(f"asset {asset_id!r} not found")
        for algo in ("item_knn", "ease", "content"):
            try:
                model = self.model(algo)
            except NotFound:
                continue
            items = model.similar_items(asset_id, n * 3 + 10)
            if items:
                return self._finish(
                    "", items, n, algo, model.model_key, None, None, requested="similar"
                )
        recs = self._finish(
            "", [], n, "trending", self.trending_key(), category, None, requested="similar"
        )
        count_fallback("recommend_similar_no_model")
        return _with(
            recs,
            fallback=True,
            fallback_reason="no behaviour or content neighbours",
            personalized=False,
        )


def _with(recs: Recommendations, **changes: Any) -> Recommendations:
    return replace(recs, **{k: v for k, v in changes.items() if v is not None})
