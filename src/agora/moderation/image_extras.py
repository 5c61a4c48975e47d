"""What ``analyze-image`` tells beside safety: item category, condition and objects.

One image-encoder pass serves both the zero-shot item category (its ImageNet
probabilities) and the condition model (its features). The item category
comes from the trained tag heads when a champion serves (``method`` says so),
the zero-shot mapping otherwise. Object detections come from an operator's
ONNX detector when one is configured (``agora.vision.detector``); without one
the answer says none is configured. Each part fails alone: the safety
verdict never depends on them.

Example:
    >>> extras = ImageExtras(categorizer, grader)  # doctest: +SKIP
    >>> extras.describe(image, item_category=True)["condition"]["condition_score"]  # doctest: +SKIP
    0.91
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from agora.encoders.base import ImageEncoding
    from agora.moderation.category import ItemCategorizer
    from agora.tagging.heads_category import HeadsCategory
    from agora.vision.condition import ConditionGrader
    from agora.vision.detector import OnnxDetector

log = logging.getLogger("agora.moderation")
NO_DETECTOR = (
    "no object detector configured: set vision.detector_model (an ONNX file) and "
    "vision.detector_classes; see docs/vision.md"
)


class ImageExtras:
    """Item category, condition and detections of one decoded RGB image."""

    def __init__(
        self,
        categorizer: ItemCategorizer,
        grader: ConditionGrader,
        heads_category: Callable[[], HeadsCategory | None] | None = None,
        detector: Callable[[], OnnxDetector | None] | None = None,
    ) -> None:
        """``heads_category``/``detector`` are opened on first use (None: not available)."""
        self.categorizer = categorizer
        self.grader = grader
        self.heads_category = heads_category
        self.detector = detector

    def describe(self, image: Any, *, item_category: bool = True) -> dict[str, Any]:
        """``{"item_category", "condition", "objects"}`` for ``image``; never raises."""
        encoded: list[tuple[str, ImageEncoding]] = []

        def encoding() -> tuple[str, ImageEncoding]:
            if not encoded:
                enc = self.categorizer.encoders.image()
                encoded.append((enc.info.key, enc.encode_images([image])))
            return encoded[0]

        out: dict[str, Any] = {
            "item_category": {"label": None, "note": "item category not requested"}
        }
        if item_category:
            out["item_category"] = self._category(image, encoding)
        out["condition"] = self._condition(image, encoding)
        out["objects"] = self._objects(image)
        return out

    def _category(
        self, image: Any, encoding: Callable[[], tuple[str, ImageEncoding]]
    ) -> dict[str, Any]:
        note = "no trained tag heads serve object_type: zero-shot mapping"
        try:
            heads = self.heads_category() if self.heads_category else None
            found = heads.categorize(image) if heads is not None else None
            if found is not None:
                return found
        # The heads are optional: whatever breaks them, the zero-shot mapping answers.
        except Exception as exc:  # noqa: BLE001
            log.warning("tag-heads category failed: %s", exc)
            note = f"tag heads unavailable ({exc}): zero-shot mapping"[:300]
        try:
            key, enc = encoding()
            probs = np.asarray(enc.class_probs[0], dtype=np.float64)
            return self.categorizer.from_probs(probs, key).to_dict() | {"note": note}
        except Exception as exc:  # noqa: BLE001
            log.warning("item category failed: %s", exc)
            return {"label": None, "note": f"item category unavailable: {exc}"[:300]}

    def _condition(
        self, image: Any, encoding: Callable[[], tuple[str, ImageEncoding]]
    ) -> dict[str, Any]:
        try:
            features = None
            _, model = self.grader.current()
            if model is not None and model.needs_features:
                key, enc = encoding()
                if model.encoder_ is not None and key != model.encoder_:
                    return {
                        "available": False,
                        "condition_score": None,
                        "note": f"the condition model was trained on {model.encoder_} "
                        f"features; this process encodes with {key}: retrain it",
                    }
                features = enc.features[0]
            return self.grader.grade(image, features).to_dict()
        except Exception as exc:  # noqa: BLE001
            log.warning("condition grading failed: %s", exc)
            return {
                "available": False,
                "condition_score": None,
                "note": f"condition grading failed: {exc}"[:300],
            }

    def _objects(self, image: Any) -> dict[str, Any]:
        try:
            detector = self.detector() if self.detector else None
        except Exception as exc:  # noqa: BLE001
            log.warning("object detector did not load: %s", exc)
            return {"configured": True, "detections": [], "note": f"detector failed: {exc}"[:300]}
        if detector is None:
            return {"configured": False, "detections": [], "note": NO_DETECTOR}
        try:
            found = detector.detect(image)
        except Exception as exc:  # noqa: BLE001
            log.warning("object detection failed: %s", exc)
            return {"configured": True, "detections": [], "note": f"detector failed: {exc}"[:300]}
        return {
            "configured": True,
            "model": detector.model,
            "detections": [d.to_dict() for d in found],
            "note": None,
        }
