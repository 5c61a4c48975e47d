"""Auto-tagging (the tagging ADR's API): tag an asset, read its tags, give feedback.

Field names follow the ADR (``../shared/seeds/002``): ``processing_options``
(``use_cloud_fallback``, ``min_confidence``, ``max_processing_time``,
``accuracy_mode``) and ``consent`` (``version``, ``allows_cloud_processing``,
``allows_model_training``), plus Agora's own additions, documented per field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StringConstraints

from agora.api.schemas.common import JSONObject, RequestModel, ResponseModel, UtcDatetime

AccuracyMode = Literal["fast", "balanced", "accurate"]
FeedbackRole = Literal["creator", "moderator", "admin"]
"""Who gives feedback; each role needs its scope (``write``, ``moderator``, ``admin``)."""
Verdict = Literal["confirm", "reject"]
MAX_FEEDBACK_ITEMS = 200

Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ProcessingOptions(RequestModel):
    """How to tag (ADR ``processing_options``). Unset numbers take the deployment's
    defaults (``tagging.cloud_confidence_threshold``, ``tagging.min_tag_count``,
    ``tagging.max_processing_time_ms``)."""

    use_cloud_fallback: StrictBool = Field(
        default=False, description="Allow the cloud tagger when a trigger fires (and consent)."
    )
    min_confidence: StrictFloat | None = Field(
        default=None, ge=0, le=1, description="A top-3 tag below it triggers the cloud fallback."
    )
    max_processing_time: StrictFloat | None = Field(
        default=None, ge=1, le=600_000, description="Time budget in milliseconds."
    )
    accuracy_mode: AccuracyMode = Field(
        default="balanced",
        description="`fast` skips text zero-shot with images and the confidence triggers; "
        "`accurate` always considers the cloud.",
    )
    force_cloud: StrictBool = Field(
        default=False, description="Agora: ask for the cloud whatever the local confidence."
    )
    min_tag_count: StrictInt | None = Field(
        default=None, ge=0, le=50, description="Agora: fewer confident tags trigger the cloud."
    )
    top_k: StrictInt | None = Field(
        default=None,
        ge=1,
        le=50,
        description="Agora: return this many ranked suggestions per category whatever "
        "their confidence, each marked `above_threshold` (unset: only tags above "
        "`tagging.output_min_confidence`, at most `tagging.top_n_per_category` each).",
    )


class ConsentBlock(RequestModel):
    """The request's consent (ADR ``consent``). It can only narrow the asset owner's
    registered consent, never widen it; ``version`` is the client's and is audited."""

    version: str | int | None = None
    allows_ai_processing: StrictBool | None = None
    allows_cloud_processing: StrictBool | None = None
    allows_model_training: StrictBool | None = None
    allows_personalization: StrictBool | None = None

    def narrowing(self) -> dict[str, Any]:
        """The block as the tagging service reads it (unset flags left out)."""
        return self.model_dump(exclude_none=True)


class TagRequest(RequestModel):
    """``POST /api/v1/assets/{asset_id}/tags`` body (every field optional)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "processing_options": {
                        "use_cloud_fallback": True,
                        "min_confidence": 0.8,
                        "max_processing_time": 3000,
                        "accuracy_mode": "balanced",
                    },
                    "consent": {
                        "version": "1.0",
                        "allows_cloud_processing": True,
                        "allows_model_training": False,
                    },
                }
            ]
        }
    )
    processing_options: ProcessingOptions | None = None
    consent: ConsentBlock | None = None


class Tag(ResponseModel):
    """One tag from the taxonomy, with the model that produced it."""

    name: str
    confidence: float = Field(ge=0, le=1)
    category: str = Field(description="The taxonomy category (`object_type`, `art_style`...).")
    source_model: str = Field(description="`name@version`.")
    processing_time_ms: float
    agreed_by: list[str] = Field(
        default_factory=list, description="Other models that predicted the same tag."
    )
    above_threshold: bool = Field(
        default=True,
        description="Confidence at or above `tagging.output_min_confidence`: the tags "
        "returned without `top_k`. Results stored before the field existed omit it.",
    )


class CloudDecision(ResponseModel):
    """Whether the cloud fallback was considered, called, and why not."""

    triggers: list[str] = Field(description="Why the cloud would help (empty: it would not).")
    called: bool
    reason: str | None = Field(description="Why it was not called, or why the call failed.")
    fallback: str | None = None


class TaggingResult(ResponseModel):
    """The ADR response: the tags, quality, time, models and the consent applied."""

    asset_id: str
    tags: list[Tag]
    quality_score: float
    total_processing_time: float = Field(description="Milliseconds.")
    models_used: list[str]
    consent_version: int = Field(description="The owner's registered consent version.")
    processed_at: UtcDatetime
    cloud: CloudDecision
    facts: JSONObject = Field(description="What file analysis found (formats, engines...).")


class TagFeedbackItem(RequestModel):
    """One tag confirmed or rejected. ``name`` may be a label or a synonym."""

    name: Name
    category: Name | None = Field(default=None, description="Disambiguates the name.")
    verdict: Verdict


class TagFeedbackRequest(RequestModel):
    """``POST /api/v1/assets/{asset_id}/tags/feedback`` body. ``role`` defaults to the
    key's highest: ``admin``, ``moderator``, else ``creator`` (write scope)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"name": "tank", "verdict": "confirm"},
                        {"name": "alien", "category": "object_type", "verdict": "reject"},
                    ],
                    "role": "moderator",
                }
            ]
        }
    )
    items: list[TagFeedbackItem] = Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)
    role: FeedbackRole | None = None


class TagFeedbackResult(ResponseModel):
    """What was recorded, and the asset's tags after the feedback."""

    asset_id: str
    recorded: int
    used_for_training: bool = Field(description="The owner allows model training.")
    consent_version: int
    retrain_due: bool
    retrain_started: bool
    tags: list[str] = Field(description="The asset's tags now (its `tags` field).")
    added: list[str] = Field(description="Confirmed tags written to the asset by this call.")
    removed: list[str] = Field(description="Tags written back earlier, now rejected.")


class HeadsTrained(ResponseModel):
    """The new tag heads version."""

    model: str = Field(description="`tag-heads@<version>`.")
    promoted: bool = Field(description="Whether this version is the champion now.")
    decision: str = Field(
        "champion", description="The gate's decision: `champion`, `challenger` or `rejected`."
    )
    reason: str = Field("", description="Why the gate decided so.")
