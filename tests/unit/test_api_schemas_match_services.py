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


def test_condition_objects_and_ekyc_answers_match_their_models() -> None:
    from agora.api.schemas import identity as id_api
    from agora.identity.liveness import LivenessResult, challenge_scores
    from agora.identity.service import MatchResult
    from agora.vision.condition import ConditionResult
    from agora.vision.detector import Detection

    condition = ConditionResult(0.81, "image-condition@3", {"laplacian_var": 5.2}).to_dict()
    objects = {
        "configured": True,
        "model": "onnx-detector:yolo@abc",
        "detections": [Detection("car", 0.9, (1, 2, 3, 4)).to_dict()],
        "note": None,
    }
    image = ImageVerdict(
        "safe", Action.APPROVE, 0.01, [], ["opennsfw@1"], 8, 8, None, None, condition, objects
    )
    parsed = exact(mod_api.ImageVerdict, image.to_dict())
    assert parsed.condition_score == 0.81  # type: ignore[attr-defined]
    exact(mod_api.Condition, condition)
    exact(mod_api.ObjectDetections, objects)
    live = LivenessResult(
        0.0, "active challenge", False,
        {"challenge": "blink", "frames": 3, "same_person": True,
         "evidence": challenge_scores([0.3, 0.3, 0.3], [0.0, 0.0, 0.0])},
    )  # fmt: skip
    quality = {"face_box": [1, 2, 90, 90], "faces_found": 1, "sharpness": 80.0, "flags": []}
    result = MatchResult(
        "m1", "selfie_document", 0.93, 0.41, 0.55, True, live,
        {"selfie": quality, "document": quality}, [], "dlib-resnet-v1@0.3.0", False,
    )  # fmt: skip
    match = exact(id_api.EkycMatch, result.to_dict())
    exact(id_api.Liveness, live.to_dict())
    assert match.model_dump()["liveness_prob"] == 0.0
    none = LivenessResult(None, "none", False, {"note": "no challenge frames were sent"})
    exact(id_api.Liveness, none.to_dict())
