"""The typed API of recommendations, moderation and tagging says what the services do:
the same choices, and response models that declare every field the services return
(``ResponseModel`` ignores unknown fields, so an undeclared one would vanish)."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

from agora.api.schemas import moderation as mod_api
from agora.api.schemas import recommendations as reco_api
from agora.api.schemas import tagging as tag_api
from agora.config import ModerationSettings
from agora.moderation.base import Action
from agora.moderation.category import ItemCategory
from agora.moderation.decisions import LABELS
from agora.moderation.image import ImageVerdict
from agora.moderation.image_kind import ImageProfile
from agora.moderation.queue import DECISION_STATE, DECISIONS_ALLOWED, OPEN_STATES
from agora.moderation.text import TextAnalyzer
from agora.recommend.base import Recommendations, ScoredItem
from agora.recommend.names import ACCEPTED, SEED_ALIASES
from agora.recommend.service import MAX_N
from agora.tagging.base import Tag
from agora.tagging.feedback import VERDICTS
from agora.tagging.service import ROLES, public_tag


def exact(model: type[BaseModel], view: dict[str, Any]) -> BaseModel:
    assert set(view) <= set(model.model_fields), set(view) - set(model.model_fields)
    return model.model_validate(view)


def test_recommendation_choices_and_lists() -> None:
    assert set(get_args(reco_api.Algorithm)) == set(ACCEPTED)
    assert reco_api.ALGORITHM_SCHEMA["x-aliases"] == SEED_ALIASES
    assert reco_api.MAX_N == MAX_N
    recs = Recommendations("u1", [ScoredItem("a1", 0.5, "ease")], "ease", "reco-ease@3")
    parsed = exact(reco_api.RecommendationList, recs.to_dict())
    assert parsed.model_dump() == recs.to_dict()  # nothing lost or changed on the way
    exact(reco_api.RecommendedAsset, recs.items[0].to_dict())


def test_moderation_choices() -> None:
    assert get_args(mod_api.Decision) == DECISIONS_ALLOWED
    assert get_args(mod_api.ViolationLabel) == LABELS
    assert get_args(mod_api.Action) == tuple(a.value for a in Action)
    states = set(get_args(mod_api.ItemState))
    assert states == set(OPEN_STATES) | set(DECISION_STATE.values())
    assert set(get_args(mod_api.QueueState)) == states | {"pending"}


def test_text_and_image_verdicts_match_their_models() -> None:
    verdict = TextAnalyzer(ModerationSettings(), models=None).analyze("Add my line id: shop88")
    exact(mod_api.TextVerdict, verdict.to_dict())
    category = ItemCategory(
        "animals", 0.9, {"animals": 0.9}, [{"class": "tabby", "p": 0.7, "category": "animals"}]
    )
    image = ImageVerdict(
        "suggestive",
        Action.REVIEW,
        0.5,
        [{"class": "BUTTOCKS_EXPOSED", "score": 0.6, "box": [1, 2, 30, 40]}],
        ["opennsfw@1"],
        64,
        48,
        category.to_dict(),
        ImageProfile("sprite", 64, 48, 0.4, 12, 0.9),
    )
    parsed = exact(mod_api.ImageVerdict, image.to_dict())
    assert parsed.model_dump(by_alias=True)["detections"] == image.detections
    exact(mod_api.ItemCategory, category.to_dict())
    without = ImageVerdict("safe", Action.APPROVE, 0.01, [], ["opennsfw@1"], 8, 8).to_dict()
    assert exact(mod_api.ImageVerdict, without).item_category.label is None  # type: ignore[attr-defined]
    assert parsed.image_kind.kind == "sprite"  # type: ignore[attr-defined]


def test_tagging_choices_and_tags() -> None:
    assert get_args(tag_api.FeedbackRole) == ROLES
    assert get_args(tag_api.Verdict) == VERDICTS
    tag = Tag("tank", 0.9, "object_type", "creator-tags@1.0", 3.0, ("tag-heads@2",))
    public = public_tag(tag, floor=0.3)
    assert exact(tag_api.Tag, public).model_dump() == public
