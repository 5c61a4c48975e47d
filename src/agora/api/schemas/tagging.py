"""Auto-tagging (the tagging ADR's API): tag an asset, read its tags, give feedback.

Field names follow the ADR (``../shared/seeds/002``): ``processing_options``
(``use_cloud_fallback``, ``min_confidence``, ``max_processing_time``,
``accuracy_mode``) and ``consent`` (``version``, ``allows_cloud_processing``,
``allows_model_training``), plus Agora's own additions, documented per field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

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


# --- batch feedback ---------------------------------------------------------

MAX_BATCH_FEEDBACK_ITEMS = 1000


class BatchFeedbackItem(TagFeedbackItem):
    """One tag of one asset confirmed or rejected."""

    asset_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class BatchFeedbackRequest(RequestModel):
    """``POST /api/v1/tagging/feedback`` body: feedback on many assets at once,
    validated as a whole (one bad item: nothing is recorded) and written in one
    transaction. ``role`` as for one asset's feedback."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"asset_id": "a-1", "name": "tank", "verdict": "confirm"},
                        {"asset_id": "a-2", "name": "pixel_art", "category": "art_style",
                         "verdict": "reject"},
                    ]
                }
            ]
        }
    )  # fmt: skip
    items: list[BatchFeedbackItem] = Field(min_length=1, max_length=MAX_BATCH_FEEDBACK_ITEMS)
    role: FeedbackRole | None = None


class AssetFeedbackResult(ResponseModel):
    """One asset's part of a batch: what was recorded and its tags after it."""

    asset_id: str
    recorded: int
    used_for_training: bool
    consent_version: int
    tags: list[str]
    added: list[str]
    removed: list[str]


class BatchFeedbackResult(ResponseModel):
    """What a batch recorded, per asset, and the one retrain it may have started."""

    recorded: int
    assets: list[AssetFeedbackResult]
    retrain_due: bool
    retrain_started: bool = Field(description="At most one retrain for the whole batch.")


# --- taxonomy -----------------------------------------------------------------

TaxonomyName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_]*$")
]
Synonym = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class LabelBody(RequestModel):
    """``PUT /api/v1/tagging/taxonomy/labels/{category}/{name}`` body: the label's
    synonyms (folded into it) and descriptions per language (embedded for zero-shot
    tagging). Replaces what the label had."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "synonyms": ["airship", "dirigible"],
                    "descriptions": {"en": "a zeppelin, a rigid airship floating in the sky"},
                }
            ]
        }
    )
    synonyms: list[Synonym] = Field(default_factory=list, max_length=50)
    descriptions: dict[Language, Description] = Field(default_factory=dict, max_length=20)


class TaxonomyLabel(ResponseModel):
    """One label of a category."""

    name: str
    synonyms: list[str]
    descriptions: dict[str, str]


class TaxonomyCategory(ResponseModel):
    """A category and its labels."""

    name: str
    description: str | None = None
    labels: list[TaxonomyLabel]


class TaxonomyView(ResponseModel):
    """The taxonomy in use: its version (every change adds one) and categories."""

    version: int
    updated_at: UtcDatetime
    updated_by: str
    categories: list[TaxonomyCategory]


class LabelChanged(ResponseModel):
    """The taxonomy version after a label change."""

    version: int = Field(description="The taxonomy version now.")
    category: str
    label: TaxonomyLabel | None = Field(description="The label now (null: deleted).")
    created: bool = False
    changed: bool = Field(description="False: the label was already so; no new version.")


# --- reset --------------------------------------------------------------------


class ResetRequest(RequestModel):
    """``POST /api/v1/tagging/reset`` body: exactly one of ``category`` or ``all``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"category": "art_style"}]})
    category: TaxonomyName | None = None
    all: StrictBool = False

    @model_validator(mode="after")
    def _one_target(self) -> ResetRequest:
        if (self.category is None) == (not self.all):
            raise ValueError("name exactly one of 'category' or 'all': true")
        return self


class ResetResult(ResponseModel):
    """What the reset removed."""

    category: str | None = Field(description="The category reset (null: every category).")
    feedback_deleted: int
    heads_retired_upto: int = Field(
        description="Tag heads versions up to this one no longer serve the category "
        "(0: none were registered)."
    )
