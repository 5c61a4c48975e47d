"""Prometheus counters of the code-review capability."""

from __future__ import annotations

from prometheus_client import Counter

VERDICTS = Counter(
    "agora_code_review_verdicts_total", "Code reviews by overall verdict.", ["verdict"]
)
