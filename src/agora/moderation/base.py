"""Result types of the moderation capability.

Every detector answers with a ``DetectorResult``: the model that produced it
(``name@version``), a calibrated probability per label, the labels over their
decision thresholds, and the detector's overall probability (the highest
label probability). Verdicts add the matched rules and a recommended action.

Example:
    >>> r = DetectorResult("moderation-spam@3", {"spam": 0.97}, ["spam"])
    >>> r.probability
    0.97
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What moderation recommends for a text, an image or an asset."""

    APPROVE = "approve"
    REVIEW = "review"
    BLOCK = "block"


ACTION_RANK = {Action.APPROVE: 0, Action.REVIEW: 1, Action.BLOCK: 2}


def worst(actions: list[Action]) -> Action:
    """The most severe action of a list (approve when empty)."""
    return max(actions, key=ACTION_RANK.__getitem__, default=Action.APPROVE)


@dataclass(frozen=True)
class DetectorResult:
    """One detector's output for one input."""

    model: str
    scores: dict[str, float]
    labels: list[str] = field(default_factory=list)

    @property
    def probability(self) -> float:
        """Calibrated probability that the input violates any of the detector's labels."""
        return max(self.scores.values(), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "labels": list(self.labels),
            "probability": round(self.probability, 4),
        }


@dataclass(frozen=True)
class Reason:
    """Why a score went down: a detector label or a rule, with its weight."""

    source: str  # "rule", "offensive", "hate", "spam", "profanity", "image", ...
    detail: str
    severity: Action
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "detail": self.detail,
            "severity": self.severity.value,
            "score": round(self.score, 4),
        }
