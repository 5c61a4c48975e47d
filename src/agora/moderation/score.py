"""SafetyScore of an asset: text verdict and image verdicts into one number.

``score = text.safety * prod(image.safety)`` (noisy-OR over every signal's
risk), in [0, 1], 1 meaning nothing suspicious. The decision (seed 001:
"items with SafetyScore < 0.4 go to a Moderation Queue"), where the hold
score leaves out the advisory labels' risks (``moderation.advisory_labels``:
they queue a listing, never hide it; see ``agora.moderation.text``):

=====================================  ==========  ===========================
condition                              decision    asset
=====================================  ==========  ===========================
a block rule or an explicit image      ``block``   held, top of the queue
hold score < ``flag_below`` or a
review hit                             ``flag``    held (flagged) and queued
score < ``approve_at``                 ``watch``   active, queued (low priority)
text analysis down                     ``post_hoc`` active, queued for batch review
otherwise                              ``approve`` active
=====================================  ==========  ===========================

Example:
    >>> from agora.config import ModerationSettings
    >>> assess(None, [], ModerationSettings(), text_down="error").decision
    'post_hoc'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agora.moderation.base import Action, Reason, worst

if TYPE_CHECKING:
    from agora.config import ModerationSettings
    from agora.moderation.image import ImageVerdict
    from agora.moderation.text import TextVerdict


@dataclass(frozen=True)
class SafetyAssessment:
    """The ensemble's answer for one asset."""

    score: float
    action: Action
    decision: str  # approve | watch | flag | block | post_hoc
    reasons: list[Reason]
    models: list[str]
    text: TextVerdict | None
    images: list[dict[str, Any]] = field(default_factory=list)
    text_down: str | None = None

    @property
    def hold(self) -> bool:
        return self.decision in ("flag", "block")

    @property
    def queue(self) -> bool:
        return self.decision != "approve"

    @property
    def risk(self) -> float:
        return 1.0 - self.score

    def to_dict(self) -> dict[str, Any]:
        return {
            "safety_score": round(self.score, 4),
            "decision": self.decision,
            "recommended_action": self.action.value,
            "block": self.decision == "block",
            "queue": self.queue,
            "reasons": [r.to_dict() for r in self.reasons],
            "models": self.models,
            "text": self.text.to_dict() if self.text else None,
            "images": self.images,
            "text_down": self.text_down,
        }


def assess(
    text: TextVerdict | None,
    images: list[tuple[str, ImageVerdict | str]],
    settings: ModerationSettings,
    *,
    text_down: str | None = None,
) -> SafetyAssessment:
    """Combine; ``images`` pairs a blob id with its verdict or an error message."""
    score = text.safety if text else 1.0
    hold = text.hold_safety if text else 1.0
    reasons = list(text.reasons) if text else []
    actions = [text.action] if text else []
    models = list(text.models) if text else []
    image_views: list[dict[str, Any]] = []
    for blob, verdict in images:
        if isinstance(verdict, str):
            image_views.append({"sha256": blob, "error": verdict})
            continue
        image_views.append({"sha256": blob} | verdict.to_dict())
        models += [m for m in verdict.models if m not in models]
        score *= verdict.safety
        hold *= verdict.safety
        actions.append(verdict.action)
        if verdict.category != "safe":
            detail = f"image {blob[:12]} {verdict.category} (nsfw={verdict.nsfw_probability:.2f})"
            reasons.append(Reason("image", detail, verdict.action, 1.0 - verdict.safety))
    action = worst(actions)
    if action is Action.BLOCK:
        decision = "block"
    elif action is Action.REVIEW or hold < settings.flag_below:
        decision, action = "flag", Action.REVIEW
    elif text_down is not None:
        decision = "post_hoc"
    elif score < settings.approve_at or any("error" in v for v in image_views):
        decision = "watch"
    else:
        decision = "approve"
    reasons.sort(key=lambda r: -r.score)
    return SafetyAssessment(score, action, decision, reasons, models, text, image_views, text_down)
