"""Prometheus metrics of the moderation capability."""

from __future__ import annotations

from prometheus_client import Counter

TEXT_ANALYSIS_DOWN = Counter(
    "agora_moderation_text_down_total",
    "Assets accepted without text analysis and queued for post-hoc batch review",
    ["reason"],  # error | models_absent
)
VERDICTS = Counter(
    "agora_moderation_verdicts_total",
    "Pipeline moderation verdicts by recommended action",
    ["action"],
)
DECISIONS = Counter("agora_moderation_decisions_total", "Moderator decisions by kind", ["decision"])
IMAGE_ERRORS = Counter(
    "agora_moderation_image_errors_total", "Images that could not be analysed (corrupt, missing)"
)
