"""Moderation: text and image analysis, the review queue, decisions and appeals."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from agora.api.schemas.common import RequestModel, ResponseModel, UtcDatetime

Action = Literal["approve", "review", "block"]
"""What moderation recommends (``agora.moderation.base.Action``)."""
Decision = Literal["approve", "reject", "escalate"]
"""A moderator's decision (``agora.moderation.queue.DECISIONS_ALLOWED``)."""
ViolationLabel = Literal["offensive", "hate", "spam"]
"""Labels a rejection may teach the classifiers (``agora.moderation.decisions.LABELS``)."""
ItemState = Literal["open", "escalated", "appealed", "approved", "rejected"]
ItemKind = Literal["review", "block", "post_hoc"]
QueueState = Literal["pending", "open", "escalated", "appealed", "approved", "rejected"]
"""A queue filter: an item state, or ``pending`` for every undecided one."""
MAX_NOTE_CHARS = 2000
"""The longest note or appeal message."""

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# -- analysis ------------------------------------------------------------------


class TextAnalysisRequest(RequestModel):
    """``POST /api/v1/analyze-text``: a ``text``, or a listing's title, description
    and tags (joined into one text)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"text": "Great sprites! Add my L1NE id: pixelshop for a discount"},
                {"title": "Pixel tank pack", "description": "32 tanks", "tags": ["tank", "2d"]},
            ]
        }
    )
    text: str | None = Field(default=None, description="The whole text (wins over the others).")
    title: str | None = None
    description: str | None = None
    tags: list[Tag] | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _has_text(self) -> Self:
        if not self.combined().strip():
            raise ValueError("send 'text' (or title/description/tags) as a non-empty string")
        return self

    def combined(self) -> str:
        """The text to analyse: ``text``, else title, description and tags, one per line."""
        if self.text is not None:
            return self.text
        parts = (self.title, self.description, " ".join(self.tags or []))
        return "\n".join(p for p in parts if p)


class DetectorScores(ResponseModel):
    """One trained detector's answer."""

    model: str = Field(description="`name@version`.")
    scores: dict[str, float] = Field(description="Calibrated probability per label.")
    labels: list[str] = Field(description="Labels over their decision thresholds.")
    probability: float = Field(description="The highest label probability.")


class RuleHit(ResponseModel):
    """A moderation rule that matched, with the text it matched."""

    rule: str
    category: str
    severity: Literal["block", "review"]
    matched: str


class Reason(ResponseModel):
    """Why a score went down: a detector label, a rule or an image."""

    source: str = Field(description="`rule`, `offensive`, `hate`, `spam`, `profanity`, `image`...")
    detail: str
    severity: Action
    score: float


class TextVerdict(ResponseModel):
    """Labels, scores, matched rules, language and a recommended action."""

    language: str | None = Field(description="ISO 639-1 code; null when undetermined.")
    language_confidence: float
    labels: list[str]
    scores: dict[str, float] = Field(description="Per label, across every detector.")
    detectors: list[DetectorScores]
    matched_rules: list[RuleHit]
    reasons: list[Reason]
    safety: float = Field(description="1 = nothing suspicious, 0 = certainly violating.")
    hold_safety: float = Field(
        description="The safety that decides holds: advisory labels (`moderation."
        "advisory_labels`, spam by default) lower `safety` but not this."
    )
    recommended_action: Action
    models: list[str] = Field(description="`name@version` of every model and rule set used.")
    degraded: bool = Field(description="Some classifiers were unavailable (rules still ran).")
    unavailable: list[str]


class Detection(ResponseModel):
    """A NudeNet body-part detection."""

    model_config = ConfigDict(populate_by_name=True)
    class_: str = Field(alias="class")
    score: float
    box: list[int] = Field(description="`[x, y, width, height]` in pixels.")


class ImageClassEvidence(ResponseModel):
    """One ImageNet class an item category rests on."""

    model_config = ConfigDict(populate_by_name=True)
    class_: str = Field(alias="class")
    p: float
    category: str


class ItemCategory(ResponseModel):
    """The photo's coarse item category, or in ``note`` why there is none."""

    label: str | None = Field(description="A category, `unknown`, or null when not computed.")
    confidence: float | None = None
    scores: dict[str, float] | None = None
    imagenet_top: list[ImageClassEvidence] | None = None
    models: list[str] | None = None
    method: str | None = None
    note: str | None = None


class Condition(ResponseModel):
    """The image's condition from the trained ``image-condition`` model, or why there is none."""

    available: bool = Field(description="A trained model graded the image.")
    condition_score: float | None = Field(
        default=None, description="1 pristine, 0 unusable (blurred, noisy, blocky, badly exposed)."
    )
    model: str | None = Field(default=None, description="`image-condition@version`.")
    measures: dict[str, float] | None = Field(
        default=None,
        description="The classical measures the model reads (blur, noise, exposure, JPEG "
        "blockiness, resolution), given even without a model.",
    )
    note: str | None = None


class ObjectDetection(ResponseModel):
    """One object found by the operator's ONNX detector."""

    model_config = ConfigDict(populate_by_name=True)
    class_: str = Field(alias="class")
    score: float
    box: list[int] = Field(description="`[x, y, width, height]` in image pixels.")


class ObjectDetections(ResponseModel):
    """The operator's detector's objects, or that no detector is configured."""

    configured: bool
    model: str | None = None
    detections: list[ObjectDetection]
    note: str | None = None


class ImageKindEvidence(ResponseModel):
    """Photo or stylised art, and the pixel statistics that decided it."""

    kind: Literal["photo", "sprite", "texture", "render"] = Field(
        description="Safety thresholds are calibrated per kind: stylised art needs both "
        "models to agree before a block."
    )
    small: bool = Field(description="Longer side <= 256 px: never blocked on one model's score.")
    transparent_share: float
    colours: int = Field(description="Distinct opaque colours (on a <= 256 px sample).")
    flat_share: float = Field(description="Share of flat neighbouring pixels.")
    backdrop: bool = Field(description="The whole border is one colour (a render's background).")


class ImageVerdict(ResponseModel):
    """Safety category, NSFW probability, detections, item category, condition and objects."""

    category: Literal["safe", "suggestive", "explicit"]
    recommended_action: Action
    nsfw_probability: float
    safety: float
    detections: list[Detection]
    models: list[str]
    size: list[int] = Field(description="`[width, height]` in pixels.")
    image_kind: ImageKindEvidence | None
    item_category: ItemCategory
    condition: Condition
    condition_score: float | None = Field(
        description="Seed 001's `condition_score` (`condition.condition_score`); "
        "null without a model."
    )
    objects: ObjectDetections


# -- the review queue ------------------------------------------------------------


class Appeal(ResponseModel):
    """A seller's appeal of an item."""

    message: str
    by: str
    at: UtcDatetime
    previous_state: str


class ModerationItem(ResponseModel):
    """One queue item with its reasons, scores and the models that raised it."""

    id: str
    asset_id: str
    seller_id: str | None
    source: str = Field(description="`pipeline` or `rescan`.")
    kind: ItemKind
    state: ItemState
    safety_score: float | None
    risk: float
    recommended_action: Action
    language: str | None
    reasons: list[Reason]
    scores: dict[str, float | None] = Field(description="Text labels and `image.<n>` safety.")
    models: list[str]
    decision: Decision | None
    decided_by: str | None
    decided_at: UtcDatetime | None
    note: str | None
    appeal: Appeal | None
    created_at: UtcDatetime
    reach: int | None = Field(default=None, description="Recorded interactions of the asset.")
    priority: float | None = Field(default=None, description="Risk weighted by reach.")
    asset_risk: float | None = Field(
        default=None,
        description="The asset's risk score from the `scores` step (scan, duplicates, 3D, "
        "seller trust and history, anomaly); the priority uses the larger of it and `risk`.",
    )


class ModerationQueuePage(ResponseModel):
    """A page of the queue, highest priority first."""

    items: list[ModerationItem]
    total: int
    offset: int
    limit: int


class DecisionRequest(RequestModel):
    """``POST /api/v1/moderation/items/{item_id}/decision`` body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "reject", "note": "contact details in the text", "labels": ["spam"]},
                {"decision": "approve", "note": "the phone number is the shop's"},
            ]
        }
    )
    decision: Decision
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    labels: list[ViolationLabel] | None = Field(
        default=None,
        max_length=3,
        description="What a rejection teaches the classifiers (with the seller's consent).",
    )


class AppealRequest(RequestModel):
    """``POST /api/v1/moderation/items/{item_id}/appeal`` body, sent by the seller's
    marketplace backend."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"seller_id": "s-17", "message": "The number is our support line."}]
        }
    )
    seller_id: str = Field(min_length=1, max_length=128)
    message: str = Field(min_length=1, max_length=MAX_NOTE_CHARS, pattern=r"\S")
