"""Request router decisions (tagging ADR, "Request Router Logic"), kept pure for testing.

Order of decisions for one request:

1. Consent first: the asset owner's registry entry, narrowed by the request's
   consent block, with the enterprise policy on top. No ``allows_ai_processing``
   -> 403 (``ConsentRequired``) and nothing runs.
2. Local taggers always run first.
3. Cloud fallback is *considered* only when a trigger fires: any of the top-3
   tags below the confidence threshold (``min_confidence``, default
   ``TaggingSettings.cloud_confidence_threshold`` = 0.75), fewer confident tags
   than ``min_tag_count``, ``accuracy_mode == "accurate"``, or an explicit
   request (``force_cloud``). ``accuracy_mode == "fast"`` turns the confidence
   triggers off (only an explicit request remains).
4. It is *called* only when it is also allowed: cloud consent (after the
   enterprise policy), ``use_cloud_fallback`` (or ``force_cloud``) in the
   request, a configured provider, an image to send, and time left in the
   ``max_processing_time`` budget.

Example:
    >>> opts = ProcessingOptions.parse({"accuracy_mode": "accurate"}, default_threshold=0.75)
    >>> fallback_triggers([], opts, min_tag_count=3)
    ['fewer than 3 confident tags', 'accuracy_mode accurate']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agora.domain import ConsentFlags
from agora.errors import Forbidden, InvalidInput
from agora.tagging.base import Tag

ACCURACY_MODES = ("fast", "balanced", "accurate")
OPTION_FIELDS = (
    "use_cloud_fallback",
    "min_confidence",
    "max_processing_time",
    "accuracy_mode",
    "force_cloud",
    "min_tag_count",
    "top_k",
)
MAX_TOP_K = 50


class ConsentRequired(Forbidden):
    """The asset owner has not consented to AI processing."""

    type_slug = "consent-required"
    title = "Consent required"


@dataclass(frozen=True)
class ProcessingOptions:
    """The request's ``processing_options`` (ADR API), validated."""

    use_cloud_fallback: bool = False
    min_confidence: float = 0.75
    max_processing_time: float = 3000.0  # milliseconds
    accuracy_mode: str = "balanced"
    force_cloud: bool = False
    min_tag_count: int = 3
    # Ranked suggestions per category returned whatever their confidence (None: the
    # deployment's floor and per-category count decide what is returned).
    top_k: int | None = None

    @classmethod
    def parse(
        cls,
        raw: Mapping[str, Any] | None,
        *,
        default_threshold: float,
        default_min_tags: int = 3,
        default_budget_ms: float = 3000.0,
    ) -> ProcessingOptions:
        """Validate a JSON ``processing_options`` object (unknown keys are refused)."""
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise InvalidInput("processing_options must be an object")
        unknown = sorted(set(raw) - set(OPTION_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown processing_options {unknown}; allowed: {list(OPTION_FIELDS)}"
            )
        for name in ("use_cloud_fallback", "force_cloud"):
            if name in raw and not isinstance(raw[name], bool):
                raise InvalidInput(f"processing_options.{name} must be true or false")
        threshold = _number(raw, "min_confidence", default_threshold, 0.0, 1.0)
        budget = _number(raw, "max_processing_time", default_budget_ms, 1.0, 600_000.0)
        mode = raw.get("accuracy_mode", "balanced")
        if mode not in ACCURACY_MODES:
            raise InvalidInput(f"accuracy_mode must be one of {list(ACCURACY_MODES)}")
        min_tags = raw.get("min_tag_count", default_min_tags)
        if not isinstance(min_tags, int) or isinstance(min_tags, bool) or not 0 <= min_tags <= 50:
            raise InvalidInput("processing_options.min_tag_count must be an integer in 0..50")
        top_k = raw.get("top_k")
        if top_k is not None and (
            not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K
        ):
            raise InvalidInput(f"processing_options.top_k must be an integer in 1..{MAX_TOP_K}")
        return cls(
            use_cloud_fallback=bool(raw.get("use_cloud_fallback", False)),
            min_confidence=threshold,
            max_processing_time=budget,
            accuracy_mode=str(mode),
            force_cloud=bool(raw.get("force_cloud", False)),
            min_tag_count=min_tags,
            top_k=top_k,
        )


def _number(raw: Mapping[str, Any], name: str, default: float, lo: float, hi: float) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InvalidInput(f"processing_options.{name} must be a number in [{lo}, {hi}]")
    return float(value)


def split_consent_block(block: Mapping[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    """ADR consent block -> (client's consent version, the flags to narrow with)."""
    if block is None:
        return None, {}
    if not isinstance(block, Mapping):
        raise InvalidInput("consent must be an object")
    flags = {k: v for k, v in block.items() if k != "version"}
    version = block.get("version")
    if version is not None and not isinstance(version, str | int):
        raise InvalidInput("consent.version must be a string or an integer")
    return (str(version) if version is not None else None), flags


def require_ai_consent(flags: ConsentFlags) -> None:
    """Raise 403 when the owner did not allow AI processing."""
    if not flags.allows_ai_processing:
        raise ConsentRequired(
            "the asset owner has not consented to AI processing (allows_ai_processing is false)",
            consent_version=flags.version,
        )


def fallback_triggers(
    tags: Sequence[Tag], options: ProcessingOptions, *, min_tag_count: int | None = None
) -> list[str]:
    """Why the cloud would help (empty: local result is good enough)."""
    reasons: list[str] = []
    needed = options.min_tag_count if min_tag_count is None else min_tag_count
    if options.force_cloud:
        reasons.append("explicit request")
    if options.accuracy_mode != "fast":
        top3 = sorted(tags, key=lambda t: -t.confidence)[:3]
        if any(t.confidence < options.min_confidence for t in top3):
            reasons.append(f"top-3 tag below {options.min_confidence:g}")
        confident = sum(1 for t in tags if t.confidence >= options.min_confidence)
        if confident < needed:
            reasons.append(f"fewer than {needed} confident tags")
    if options.accuracy_mode == "accurate":
        reasons.append("accuracy_mode accurate")
    return reasons


def cloud_permission(
    flags: ConsentFlags,
    options: ProcessingOptions,
    *,
    enterprise_forbid_cloud: bool,
    provider_configured: bool,
    has_image: bool,
) -> str | None:
    """None when the cloud may be called; otherwise the reason it may not."""
    if enterprise_forbid_cloud:
        return "enterprise policy forbids cloud processing"
    if not flags.allows_cloud_processing:
        return "no consent to cloud processing"
    if not (options.use_cloud_fallback or options.force_cloud):
        return "cloud fallback not requested"
    if not provider_configured:
        return "no cloud provider configured"
    if not has_image:
        return "no image to send"
    return None
