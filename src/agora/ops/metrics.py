"""Prometheus metrics shared by every process.

Defined once here so every capability counts into the same families. When the
API runs several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set by
``agora serve`` and ``/metrics`` aggregates them.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

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
    "Fallbacks taken, by kind (e.g. vector_down_keyword_only), in requests and background "
    "jobs alike; a request may take several (the rate's numerator is fallback_requests)",
    ["kind"],
)
SERVED_REQUESTS = Counter(
    "agora_served_requests_total",
    "Answered model-serving requests by surface (the fallback rate's denominator)",
    ["surface"],
)
FALLBACK_REQUESTS = Counter(
    "agora_fallback_requests_total",
    "Answered model-serving requests that took at least one fallback, by surface "
    "(the fallback rate's numerator: at most one per request)",
    ["surface"],
)
RATE_LIMITED = Counter("agora_rate_limited_total", "Requests refused by rate limit or quota")

# --- MLOps (agora.mlops): per model version serving figures, drift, training, alerts ---
MODEL_REQUESTS = Counter(
    "agora_model_requests_total",
    "Model-served requests by model, version and outcome (ok | error)",
    ["model", "version", "outcome"],
)
MODEL_LATENCY = Histogram(
    "agora_model_latency_seconds",
    "Model serving latency by model and version (p95/p99 via histogram_quantile)",
    ["model", "version"],
    buckets=LATENCY_BUCKETS,
)
MODEL_IMPRESSIONS = Counter(
    "agora_model_impressions_total",
    "Impressions of items ranked by a model version (online CTR denominator)",
    ["model", "version"],
)
MODEL_CLICKS = Counter(
    "agora_model_clicks_total",
    "Clicks on items ranked by a model version (online CTR numerator)",
    ["model", "version"],
)
MODEL_FEATURE_PSI = Gauge(
    "agora_model_feature_psi",
    "PSI of a model input feature (or its score) against the training snapshot",
    ["model", "version", "feature"],
    multiprocess_mode="max",
)
MODEL_DRIFTED_FEATURES = Gauge(
    "agora_model_drifted_features",
    "Features flagged as drifted at the last drift check",
    ["model", "version"],
    multiprocess_mode="max",
)
TRAINING_RUNS = Counter(
    "agora_training_runs_total",
    "Training pipeline runs by model and decision (challenger | champion | rejected | failed)",
    ["model", "decision"],
)
ALERTS_SENT = Counter("agora_alerts_total", "Alerts sent by rule and outcome", ["rule", "outcome"])
ALERTS_STORED = Counter(
    "agora_alerts_stored_total",
    "Stored alerts by kind and event (opened | resolved | acknowledged)",
    ["kind", "event"],
)


def metrics_registry() -> CollectorRegistry:
    """Every process's metrics: this process's registry, or all worker processes'
    when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    # prometheus_client's multiprocess mode is switched on by this variable in
    # every process (set by `agora serve`), so it is read here, where the
    # library itself reads it, rather than threaded through Settings.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    return registry
