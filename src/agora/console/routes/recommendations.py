"""Recommendations and feed inspector: pick a user; see their history, each
algorithm's list, the bandit's arm statistics for their segment, and the ranked
feed with per-item explanations (SHAP contributions of the ranking model) and
the candidates each filter removed."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from agora.console.auth import Operator, Reader
from agora.console.render import bare, page
from agora.errors import AgoraError
from agora.recommend import ALGORITHMS
from agora.recommend.bandit import segment_of
from agora.recommend.data import user_history

router = APIRouter()
log = logging.getLogger(__name__)
N = 8
# "smart" asks the bandit, which records the serving as a trial: the inspector
# shows the bandit's statistics instead of pulling an arm.
INSPECTED = tuple(a for a in ALGORITHMS if a != "smart")
# The ranking pre-filter's and re-rank's filters (``agora.ranking.prefilter.removals``).
FILTER_NAMES = {
    "unknown": "not in the catalog snapshot",
    "status": "status not active",
    "seller": "seller banned",
    "stock": "out of stock",
    "asset_ban": "asset banned (override)",
    "seller_ban": "seller banned (override)",
    "category_ban": "category banned (override)",
    "distance": "too far away",
    "fraud": "likely fraud",
}


def _lists(op: Operator, user_id: str) -> list[dict[str, Any]]:
    service = op.platform.recommendations
    out = []
    for algorithm in INSPECTED:
        try:
            # A cached answer is what the API would serve; no recompute for a look.
            recs = service.cached(user_id, N, algorithm=algorithm) or service.recommend(
                user_id, N, algorithm=algorithm
            )
            out.append({**recs.to_dict(), "asked": algorithm})
        except AgoraError as exc:  # not trained, no consent...: the column says why
            out.append({"asked": algorithm, "error": str(exc), "items": []})
    return out


def _bandit(op: Operator, n_events: int) -> dict[str, Any]:
    service = op.platform.recommendations
    segment = segment_of(n_events)
    arms = list(service.available_arms())
    posteriors = service.bandit.posteriors(segment, arms)
    return {
        "segment": segment,
        "arms": [
            {"arm": arm, "alpha": a, "beta": b, "mean": a / (a + b), "trials": a + b - 2}
            for arm, (a, b) in sorted(posteriors.items(), key=lambda kv: -kv[1][0] / sum(kv[1]))
        ],
    }


@router.get("/recommendations", response_class=HTMLResponse)
def inspector(
    request: Request,
    op: Reader,
    user_id: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    """Everything that decides what one user is shown."""
    user_id = user_id.strip()
    context: dict[str, Any] = {"user_id": user_id}
    if user_id:
        features = op.platform.settings.features
        history = user_history(
            op.platform.db,
            user_id,
            weights=features.affinity_weights,
            half_life_s=features.affinity_half_life_s,
            limit=20,
        )
        context |= {
            "history": history,
            "lists": _lists(op, user_id),
            "bandit": _bandit(op, history.n_events),
        }
    return page(
        request, "recommendations.html", op, "recommendations", title="Recommendations", **context
    )


@router.get("/recommendations/feed", response_class=HTMLResponse)
def feed(
    request: Request, op: Reader, user_id: Annotated[str, Query(min_length=1, max_length=128)]
) -> HTMLResponse:
    """The user's ranked feed with SHAP explanations and the candidates each
    filter removed: an htmx fragment the inspector loads after the page
    (explaining each item is the slowest part of it)."""
    try:
        served = op.platform.ranking.feed(user_id, n=N, explain=True, inspect=True)
        ranked, error = served.to_dict(), None
    except AgoraError as exc:
        ranked, error = None, str(exc)
    return bare(
        request, "partials/feed.html", feed=ranked, feed_error=error, filter_names=FILTER_NAMES
    )
