"""Prometheus metrics shared by every process.

Defined once here so every capability counts into the same families. When the
API runs several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set by
``agora serve`` and ``/metrics`` aggregates them.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "agora_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
REQUEST_ERRORS = Counter(
    "agora_http_errors_total",
    "HTTP responses with status >= 400",
    ["method", "route", "status"],
)
QUEUE_DEPTH = Gauge(
    "agora_bus_queue_depth",
    "Events not yet acked by a consumer group (lag)",
    ["topic", "group"],
    multiprocess_mode="max",
)
EVENTS_PUBLISHED = Counter("agora_bus_events_published_total", "Events published", ["topic"])
EVENTS_HANDLED = Counter(
    "agora_bus_events_handled_total",
    "Deliveries handled by outcome",
    ["topic", "group", "outcome"],  # outcome: ok | duplicate | retry | dead_letter
)
PIPELINE_STEP_LATENCY = Histogram(
    "agora_pipeline_step_duration_seconds",
    "Post-upload pipeline step latency",
    ["step", "outcome"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "agora_webhook_deliveries_total",
    "Webhook delivery attempts by outcome",
    ["outcome"],
)
FALLBACKS = Counter(
    "agora_fallbacks_total",
    "Fallbacks taken, by kind (e.g. vector_down_keyword_only)",
    ["kind"],
)
RATE_LIMITED = Counter("agora_rate_limited_total", "Requests refused by rate limit or quota")
