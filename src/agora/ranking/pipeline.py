"""The ranking pipeline: six timed stages under one deadline (seed 001 sections 3 and 7).

``RankingPipeline.rank`` runs the stages on a worker thread and waits up to
the deadline; past it the caller gets the cached trending-globally list,
flagged, while the late run is abandoned at its next stage boundary. Each
stage's time goes into the response, the feature log and a Prometheus
histogram; each fallback is flagged and counted.

Example:
    >>> pipe = RankingPipeline(settings.ranking, snapshots, scorer=scorer)  # doctest: +SKIP
    >>> pipe.rank(RankRequest(user_id="u1")).items[0].position  # doctest: +SKIP
    1
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prometheus_client import Histogram

from agora.config import RankingSettings
from agora.features.base import OnlineStore, OverrideReader
from agora.ops.fallbacks import count_fallback
from agora.ranking.base import (
    FALLBACK_FEATURES_SLOW,
    FALLBACK_NO_MODEL,
    FALLBACK_SCORER_ERROR,
    FALLBACK_TRENDING,
    FraudScorer,
    RankedItem,
    RankedList,
    RankRequest,
    SponsoredSource,
)
from agora.ranking.candidates import RecommendationService, generate
from agora.ranking.catalog import CatalogSnapshot, SnapshotHolder
from agora.ranking.explain import Explainer
from agora.ranking.feature_log import FeatureLog, ServedRecord
from agora.ranking.hydration import FEATURES, hydrate
from agora.ranking.prefilter import banned_mask, distances, eligible_mask, removals
from agora.ranking.rerank import (
    CatalogSponsoredSource,
    RuleFraudScorer,
    diversify,
    inject_sponsored,
)
from agora.ranking.scoring import Scorer, Weights, popularity_score, weigh_by_relevance
from agora.search.base import SearchService

log = logging.getLogger(__name__)
STAGE_LATENCY = Histogram(
    "agora_ranking_stage_seconds",
    "Ranking pipeline time per stage",
    ["stage"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
)


class _Late(Exception):
    """The deadline passed; the result would be thrown away."""


class RankingPipeline:
    """Candidate generation -> pre-filter -> hydration -> scoring -> re-rank -> polish."""

    def __init__(
        self,
        settings: RankingSettings,
        snapshots: SnapshotHolder,
        *,
        scorer: Scorer | None = None,
        search: SearchService | None = None,
        recommender: RecommendationService | None = None,
        online: OnlineStore | None = None,
        overrides: OverrideReader | None = None,
        user_geo: Callable[[str | None], tuple[str | None, float | None, float | None]]
        | None = None,
        feature_log: FeatureLog | None = None,
        fraud: Callable[[CatalogSnapshot], FraudScorer] = RuleFraudScorer,
        sponsored: Callable[[CatalogSnapshot], SponsoredSource] = CatalogSponsoredSource,
        half_life_s: float = 7 * 24 * 3600.0,
        workers: int = 4,
    ) -> None:
        self.settings = settings
        self.snapshots = snapshots
        self.scorer = scorer
        self.search = search
        self.recommender = recommender
        self.online = online
        self.overrides = overrides
        self.user_geo = user_geo or (lambda _u: (None, None, None))
        self.feature_log = feature_log
        self.half_life_s = half_life_s
        self.weights = Weights(
            settings.w_ctr, settings.w_cvr, settings.w_trust, settings.w_relevance
        )
        self._fraud_factory = fraud
        self._sponsored_factory = sponsored
        self._per_snapshot: tuple[int, FraudScorer, SponsoredSource] | None = None
        self._explainers: dict[str, Explainer] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ranking")
        self._io = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ranking-io")

    # -- public -----------------------------------------------------------------

    def rank(self, request: RankRequest, *, scorer: Scorer | bool | None = True) -> RankedList:
        """Best ``request.n`` items, or the trending list (flagged) past the deadline.

        ``scorer``: the models for this request (the canary's choice; None: no
        model); ``True`` uses the pipeline's own ``self.scorer``.
        """
        started = time.perf_counter()
        deadline = started + self.settings.deadline_ms / 1000.0
        request_id = uuid.uuid4().hex
        chosen = self.scorer if scorer is True else scorer if isinstance(scorer, Scorer) else None
        # The caller's context goes along: a fallback taken in the pool marks its request.
        run = contextvars.copy_context().run
        future = self._pool.submit(run, self._run, request, request_id, deadline, chosen)
        try:
            return future.result(timeout=max(0.0, deadline - time.perf_counter()))
        except (FutureTimeout, _Late):
            future.cancel()
            return self._trending(request, request_id, started)

    def warm(self) -> None:
        """Build the SHAP explainers and the catalog snapshot before the first request."""
        self.snapshots.get()
        scorer = self.scorer
        if scorer is not None and scorer.ready:
            model = scorer.ranker if scorer.mode == "lambdamart" else scorer.pctr
            if model is not None:
                self._explainer(model)

    def _explainer(self, model: Any) -> Explainer:
        key = f"{model.ref}:{id(model)}"
        explainer = self._explainers.get(key)
        if explainer is None:
            explainer = self._explainers[key] = Explainer(model)
        return explainer

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._io.shutdown(wait=False, cancel_futures=True)
        if self.feature_log is not None:
            self.feature_log.flush()

    # -- stages -----------------------------------------------------------------

    def _helpers(self, snap: CatalogSnapshot) -> tuple[FraudScorer, SponsoredSource]:
        cached = self._per_snapshot
        if cached is None or cached[0] != id(snap):
            cached = (id(snap), self._fraud_factory(snap), self._sponsored_factory(snap))
            self._per_snapshot = cached
        return cached[1], cached[2]

    def _run(
        self, req: RankRequest, request_id: str, deadline: float, scorer: Scorer | None
    ) -> RankedList:
        cfg = self.settings
        timings: dict[str, float] = {}
        fallbacks: list[str] = []
        models: dict[str, str] = {}
        model_errors: list[str] = []
        clock = [time.perf_counter()]

        def lap(stage: str) -> None:
            now = time.perf_counter()
            timings[stage] = (now - clock[0]) * 1000.0
            STAGE_LATENCY.labels(stage).observe(now - clock[0])
            clock[0] = now
            if now > deadline:
                raise _Late(stage)

        now_s = req.now if req.now is not None else time.time()
        snap = self.snapshots.get()
        fraud, sponsored_source = self._helpers(snap)
        region, lat, lon = self.user_geo(req.user_id)

        # 1. candidate generation
        cands = generate(
            user_id=req.user_id,
            query=req.query,
            region=region,
            snap=snap,
            search=self.search,
            recommender=self.recommender,
            limit=cfg.max_candidates,
        )
        models.update(cands.models)
        fallbacks.extend(cands.fallbacks)
        lap("candidates")

        # 2. hard-rule pre-filter
        max_km = req.max_distance_km if req.max_distance_km is not None else cfg.max_distance_km
        active = self.overrides.active_overrides() if self.overrides is not None else None
        rows = snap.rows(cands.ids)
        dist = distances(snap, np.where(rows >= 0, rows, 0), lat, lon)
        keep = eligible_mask(snap, rows, distance_km=dist, max_distance_km=max_km, overrides=active)
        removed = (
            removals(
                snap, cands.ids, rows, distance_km=dist, max_distance_km=max_km, overrides=active
            )
            if req.inspect
            else None
        )
        rows, dist = rows[keep], dist[keep]
        retrieval = cands.retrieval[keep]
        lap("prefilter")

        # 3. feature hydration (one batched read per entity, within its budget)
        hyd = hydrate(
            snap,
            rows,
            user_id=req.user_id,
            distance_km=dist,
            retrieval=retrieval,
            from_search=cands.from_search[keep],
            from_recommender=cands.from_recommender[keep],
            now=now_s,
            store=self.online,
            executor=self._io,
            budget_s=cfg.hydration_budget_ms / 1000.0,
            half_life_s=self.half_life_s,
        )
        if self.online is not None and not hyd.online:
            fallbacks.append(FALLBACK_FEATURES_SLOW)
        lap("hydration")

        # 4. scoring
        boost = _boost_of(snap, rows, active)
        personalised = hyd.online or self.online is None
        # Relevance to the query or the user, for the popularity fallback.
        relevance = retrieval * (cands.from_search | cands.from_recommender)[keep]
        (score, pctr, pcvr), scorer, by_model = self._model_or_popularity(
            scorer,
            personalised,
            hyd.matrix,
            snap,
            rows,
            boost,
            relevance,
            models,
            fallbacks,
            model_errors,
        )
        if req.query is not None:
            unbounded = by_model and scorer is not None and scorer.mode == "lambdamart"
            score = weigh_by_relevance(
                score, boost, retrieval, cfg.search_relevance_power, unbounded=unbounded
            )
        lap("scoring")

        # 5. safety and diversity re-rank (only the head can be shown: re-rank 3x of it)
        order = np.argsort(-score, kind="stable")
        head = order[: max(req.n * 3, req.n + 10)]
        risk = fraud.risk(rows[head])
        models["fraud"] = fraud.model
        if removed is not None and cfg.fraud_action == "remove":
            frauds = [snap.ids[rows[i]] for i in head[risk > cfg.fraud_threshold]]
            if frauds:
                removed["fraud"] = frauds
        head = _apply_fraud_action(cfg, head, risk, score)
        picked = diversify(
            [snap.ids[rows[i]] for i in head],
            list(snap.seller_ids[rows[head]]),
            max_run=cfg.max_same_seller_run,
            n=req.n,
        )
        organic_idx = head[picked]
        lap("rerank")

        # 6. final polish: sponsored slots, top n
        organic_ids = [snap.ids[rows[i]] for i in organic_idx]
        slots = [s for s in cfg.sponsored_slots if 1 <= s <= req.n]

        def admit(candidate_rows: np.ndarray) -> np.ndarray:
            d = distances(snap, candidate_rows, lat, lon)
            ok = eligible_mask(
                snap, candidate_rows, distance_km=d, max_distance_km=max_km, overrides=active
            )
            return ok & (fraud.risk(candidate_rows) <= cfg.fraud_threshold)

        ads = sponsored_source.sponsored(admit, set(organic_ids), len(slots)) if slots else []
        layout = inject_sponsored(organic_ids, ads, slots=slots, n=req.n)
        by_id = {snap.ids[rows[i]]: i for i in organic_idx}
        items, vectors = _ranked_items(
            layout, by_id, snap, score=score, pctr=pctr, pcvr=pcvr, boost=boost, matrix=hyd.matrix
        )
        lap("polish")

        explain = self._explain_fn(scorer, items, vectors, personalised and by_model)
        if req.explain:
            _attach_explanations(items, explain, snap)
            if explain is not None:
                timings["explain"] = (time.perf_counter() - clock[0]) * 1000.0
        timings["total"] = sum(v for k, v in timings.items() if k != "explain")
        for kind in fallbacks:
            count_fallback(kind)
        if time.perf_counter() > deadline:
            # Explanations ran past the deadline: the caller answered (and logged)
            # the trending list under this request id; logging this one too would
            # collide with it and lose the log batch.
            raise _Late("explain")
        ranked = RankedList(request_id, req.user_id, req.query, items, models, timings, fallbacks)
        ranked.model_errors = model_errors
        ranked.removed = removed
        self._log(ranked, vectors, None if req.explain else explain, req.now)
        return ranked

    # -- helpers ----------------------------------------------------------------

    def _model_or_popularity(
        self,
        scorer: Scorer | None,
        personalised: bool,
        matrix: np.ndarray,
        snap: CatalogSnapshot,
        rows: np.ndarray,
        boost: np.ndarray,
        relevance: np.ndarray,
        models: dict[str, str],
        fallbacks: list[str],
        model_errors: list[str],
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], Scorer | None, bool]:
        """``(score, pCTR, pCVR)``, the scorer still in use (None once it failed) and
        whether the trained models scored (False: the popularity fallback)."""
        trust = snap.trust[rows]
        if scorer is not None and scorer.ready and personalised:
            scored = _score_with(scorer, matrix, trust, boost, snap.cvr_prior[rows], models)
            if scored is not None:
                return scored, scorer, True
            # A broken version must not fail the request: count, fall back.
            model_errors.extend(scorer.models.values())
            fallbacks.append(FALLBACK_SCORER_ERROR)
            scorer = None
        if (scorer is None or not scorer.ready) and not model_errors:
            fallbacks.append(FALLBACK_NO_MODEL)
        pctr, pcvr = snap.ctr_prior[rows], snap.cvr_prior[rows]
        # The popular fallback's order is the popularity the priors already weigh.
        score = popularity_score(pctr, pcvr, trust, boost, self.weights, relevance)
        models["scorer"] = "popularity-prior@1"
        return (score, pctr, pcvr), scorer, False

    def _explain_fn(
        self,
        scorer: Scorer | None,
        items: list[RankedItem],
        vectors: list[np.ndarray | None],
        personalised: bool,
    ) -> Callable[[], list[dict[str, Any]]] | None:
        if scorer is None or not scorer.ready or not personalised:
            return None
        model = scorer.ranker if scorer.mode == "lambdamart" else scorer.pctr
        if model is None:
            return None
        top = self.settings.explain_top

        def run() -> list[dict[str, Any]]:
            explainer = self._explainer(model)
            idx = [k for k, v in enumerate(vectors) if v is not None][:top]
            if not idx:
                return []
            x = np.vstack([vectors[k] for k in idx])  # type: ignore[misc]
            out: list[dict[str, Any]] = [{} for _ in items]
            for k, expl in zip(idx, explainer.explain(x), strict=True):
                out[k] = {"asset_id": items[k].asset_id, **expl}
            return out

        return run

    def _log(
        self,
        ranked: RankedList,
        vectors: list[np.ndarray | None],
        explain: Callable[[], list[dict[str, Any]]] | None,
        now: float | None = None,
    ) -> None:
        if self.feature_log is None or not self.settings.log_served:
            return

        def logged() -> list[dict[str, Any]]:
            return [e for e in explain() if e] if explain is not None else []

        # A request replayed at a given time (simulation, backfill) is logged at that time,
        # so its later clicks label it within the attribution window.
        ts = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
        self.feature_log.record(ServedRecord(ranked, ts, list(FEATURES), vectors, logged))

    def _trending(self, req: RankRequest, request_id: str, started: float) -> RankedList:
        snap = self.snapshots.get()
        ids = snap.trending
        if self.overrides is not None:  # the fallback obeys the admin bans too
            rows = snap.rows(ids)
            banned = banned_mask(snap, rows, self.overrides.active_overrides())
            ids = [a for a, b in zip(ids, banned, strict=True) if not b]
        ids = ids[: req.n]
        items = [
            RankedItem(a, position=i, score=0.0, seller_id=str(snap.seller_ids[snap.index[a]]))
            for i, a in enumerate(ids, start=1)
        ]
        count_fallback(FALLBACK_TRENDING)
        ranked = RankedList(
            request_id,
            req.user_id,
            req.query,
            items,
            {"scorer": "trending-globally@1"},
            {"total": (time.perf_counter() - started) * 1000.0},
            [FALLBACK_TRENDING],
            trending=True,
        )
        self._log(ranked, [None] * len(items), None, req.now)
        return ranked


def _boost_of(snap: CatalogSnapshot, rows: np.ndarray, active: Any) -> np.ndarray:
    """Each candidate's active boost (factor - 1; zeros when no override boosts)."""
    if active is None or not active.boosts:
        return np.zeros(len(rows))
    factors = active.boost_factors(
        [snap.ids[r] for r in rows], list(snap.seller_ids[rows]), list(snap.categories[rows])
    )
    return np.asarray(factors) - 1.0


def _score_with(
    scorer: Scorer,
    matrix: np.ndarray,
    trust: np.ndarray,
    boost: np.ndarray,
    cvr_prior: np.ndarray,
    models: dict[str, str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(score, pCTR, pCVR) from the trained models; None when the version fails."""
    try:
        scored = scorer.score(matrix, trust, boost, cvr_prior)
    except Exception:  # a broken version must not fail the request
        log.exception("ranking: scoring with %s failed", scorer.models)
        return None
    models.update(scorer.models)
    return scored


def _apply_fraud_action(
    cfg: RankingSettings, head: np.ndarray, risk: np.ndarray, score: np.ndarray
) -> np.ndarray:
    """The head without (``remove``) or below the rest (``demote``) its likely frauds."""
    if cfg.fraud_action == "demote":
        demoted = np.where(risk > cfg.fraud_threshold, score[head] - 1e3, score[head])
        return head[np.argsort(-demoted, kind="stable")]
    return head[risk <= cfg.fraud_threshold]


def _attach_explanations(
    items: list[RankedItem],
    explain: Callable[[], list[dict[str, Any]]] | None,
    snap: CatalogSnapshot,
) -> None:
    """The model's per-item explanation (when it has one) and the seller-trust breakdown."""
    if explain is not None:
        for item, expl in zip(items, explain(), strict=False):
            item.explanation = expl
    for item in items:
        info = snap.seller_info.get(item.seller_id or "", {})
        item.explanation = {**(item.explanation or {}), "seller_trust": info.get("breakdown", [])}


def _ranked_items(
    layout: list[tuple[str, bool]],
    by_id: dict[str, int],
    snap: CatalogSnapshot,
    *,
    score: np.ndarray,
    pctr: np.ndarray,
    pcvr: np.ndarray,
    boost: np.ndarray,
    matrix: np.ndarray,
) -> tuple[list[RankedItem], list[np.ndarray | None]]:
    """The served items in ``layout`` order, and each organic item's feature vector
    (None for a sponsored one: it was not scored)."""
    items: list[RankedItem] = []
    vectors: list[np.ndarray | None] = []
    for pos, (asset_id, is_ad) in enumerate(layout, start=1):
        r = snap.index[asset_id]
        i = None if is_ad else by_id[asset_id]
        items.append(
            RankedItem(
                asset_id=asset_id,
                position=pos,
                score=float(score[i]) if i is not None else 0.0,
                seller_id=str(snap.seller_ids[r]),
                sponsored=is_ad,
                pctr=None if i is None else float(pctr[i]),
                pcvr=None if i is None else float(pcvr[i]),
                seller_trust=float(snap.trust[r]),
                boost=0.0 if i is None else float(boost[i]),
            )
        )
        vectors.append(None if i is None else matrix[i])
    return items, vectors
