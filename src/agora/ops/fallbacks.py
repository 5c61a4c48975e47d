"""Fallbacks counted per request: the numerator and denominator of the fallback rate.

Seed 001 alerts when "the default fallback rate" exceeds 10%: the share of
model-serving requests answered by a fallback path. Counting *fallbacks* over
*requests* cannot give that share, and gave rates above 100%: one request can
take several fallbacks (vector index down and no ranking model), fallbacks are
also taken outside requests (the upload pipeline's moderation, precomputed
lists, cache warming), and some serving routes were missing from the
denominator (``/analyze-text``, ``/assets/{id}/tags``).

So the two are counted together, per request:

* :func:`count_fallback` counts a fallback by kind (``agora_fallbacks_total``,
  for the breakdown, wherever it happens) and marks the model-serving request
  under way, if any, as fallen back.
* The ops middleware opens a :func:`request_scope` around every HTTP request;
  when a request on a :data:`SERVING_ROUTES` route is answered (status < 400),
  :func:`close_request` counts it once in ``agora_served_requests_total`` and, if
  it was marked, once in ``agora_fallback_requests_total``, both by surface.

The rate is ``fallback_requests / served_requests`` per surface: at most 1 by
construction. The mark travels in a context variable holding a mutable scope,
so work a request hands to ``run_in_threadpool`` (which copies the context)
marks the same scope; a pool of one's own must submit through
``contextvars.copy_context().run`` (the ranking pipeline does).

Example:
    >>> scope, token = request_scope()
    >>> count_fallback("vector_down_keyword_only")
    >>> count_fallback("no_model_popularity_weights")
    >>> scope.kinds == {"vector_down_keyword_only", "no_model_popularity_weights"}
    True
    >>> close_request(token, scope, "GET", "/api/v1/search/ranked", 200)
    'ranking'
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from agora.ops.metrics import FALLBACK_REQUESTS, FALLBACKS, SERVED_REQUESTS

# (method, route template) -> surface: the requests that are model decisions.
SERVING_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/search"): "search",
    ("POST", "/api/v1/search"): "search",
    ("GET", "/api/v1/search/semantic"): "search",
    ("POST", "/api/v1/search/semantic"): "search",
    ("GET", "/api/v1/search/visual"): "search",
    ("POST", "/api/v1/search/visual"): "search",
    ("GET", "/api/v1/assets/{asset_id}/similar"): "search",
    ("GET", "/api/v1/feed/{user_id}"): "ranking",
    ("GET", "/api/v1/search/ranked"): "ranking",
    ("GET", "/api/v1/recommendations/{user_id}"): "recommendations",
    ("POST", "/api/v1/recommendations:batch"): "recommendations",
    ("GET", "/api/v1/assets/{asset_id}/similar-by-behaviour"): "recommendations",
    ("POST", "/api/v1/assets/{asset_id}/tags"): "tagging",
    ("POST", "/api/v1/analyze-text"): "moderation",
    ("POST", "/api/v1/analyze-image"): "moderation",
}


@dataclass
class RequestScope:
    """The fallback kinds one request took (a set: each kind counts once)."""

    kinds: set[str] = field(default_factory=set)


_current: ContextVar[RequestScope | None] = ContextVar("agora_request_scope", default=None)


def count_fallback(kind: str) -> None:
    """Count one fallback of ``kind`` and mark the request under way (if any)."""
    FALLBACKS.labels(kind).inc()
    scope = _current.get()
    if scope is not None:
        scope.kinds.add(kind)


def request_scope() -> tuple[RequestScope, Token[RequestScope | None]]:
    """Open the scope of one HTTP request (closed by :func:`close_request`)."""
    scope = RequestScope()
    return scope, _current.set(scope)


def close_request(
    token: Token[RequestScope | None], scope: RequestScope, method: str, route: str, status: int
) -> str | None:
    """Count an answered model-serving request (and whether it fell back); returns
    its surface (None: not a model-serving request, or not answered)."""
    _current.reset(token)
    surface = SERVING_ROUTES.get((method, route))
    if surface is None or status >= 400:
        return None
    SERVED_REQUESTS.labels(surface).inc()
    if scope.kinds:
        FALLBACK_REQUESTS.labels(surface).inc()
    return surface
