"""Prometheus metrics of the tagging service."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from agora.ops.metrics import LATENCY_BUCKETS

TAGGING_LATENCY = Histogram(
    "agora_tagging_seconds", "Whole tagging request (local + cloud)", buckets=LATENCY_BUCKETS
)
CLOUD_CALLS = Counter(
    "agora_tagging_cloud_calls_total",
    "Cloud tagger calls by provider and outcome",
    ["provider", "outcome"],
)
