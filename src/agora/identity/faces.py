"""Face detection, alignment, quality checks and the 128-d embedding (dlib).

Models come from PyPI packages (MODELS.md): ``dlib-bin`` (the library) and
``face_recognition_models`` (the weights): dlib's HOG frontal face detector,
the 5-point landmark model (CC0) for alignment, and the ResNet face
recognition model (99.38% on LFW published) that maps an aligned 150x150
face chip to a 128-d vector; two photos of one person lie within about 0.6
(Euclidean). The 68-point landmark model is loaded only for the liveness
challenge (``agora.identity.liveness``): it is trained on iBUG 300-W, whose
licence excludes commercial use (see docs/capabilities/ekyc.md).

Quality checks, each with a clear reason: exactly one face in a selfie (a
document photo may show a second, smaller "ghost" portrait: the largest face
is used and the answer flags it), the face box at least ``min_face_px`` on
its shorter side, and the face crop's sharpness (variance of the Laplacian of
the aligned chip) at least ``min_sharpness`` (else flagged ``blurry``).

Example:
    >>> face = FaceModels().face(image, role="selfie", min_face_px=80)  # doctest: +SKIP
    >>> face.embedding.shape  # doctest: +SKIP
    (128,)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agora.errors import InvalidInput

# Photos larger than this on the longer side are reduced before detection:
# HOG cost grows with pixels, and a face in a selfie is never that small.
DETECT_MAX_SIDE = 1280
# Small photos are upsampled once so faces of ~40 px are still found.
UPSAMPLE_BELOW = 500
CHIP_SIZE = 150


class FaceQualityError(InvalidInput):
    """A photo fails a quality check (no face, several faces, face too small)."""

    title = "Face quality check failed"


@dataclass(frozen=True)
class Face:
    """One detected, aligned and embedded face."""

    box: tuple[int, int, int, int]  # x, y, width, height in the photo's pixels
    embedding: NDArray[np.float32]
    sharpness: float
    faces_found: int
    flags: list[str] = field(default_factory=list)

    def quality(self) -> dict[str, Any]:
        return {
            "face_box": list(self.box),
            "faces_found": self.faces_found,
            "sharpness": round(self.sharpness, 2),
            "flags": list(self.flags),
        }


def laplacian_variance(grey: NDArray[np.float64]) -> float:
    """Variance of the 4-neighbour Laplacian (Pech-Pacheco et al. 2000): low means blurred."""
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def weights(filename: str) -> str:
    """Path of a model file shipped in ``face_recognition_models``.

    Found without importing the package: its ``__init__`` needs ``pkg_resources``,
    which recent setuptools no longer ship.
    """
    from importlib.util import find_spec

    spec = find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput("eKYC needs face_recognition_models (pip install agora[ekyc])")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise InvalidInput(f"face_recognition_models lacks {filename}")
    return str(path)


class FaceModels:
    """dlib's detector, landmark models and face recogniser, loaded once (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}
        # dlib's models are not documented as thread-safe: one call at a time.
        self._run = threading.Lock()

    @property
    def model(self) -> str:
        from importlib.metadata import version

        return f"dlib-resnet-v1@{version('face_recognition_models')}"

    def _get(self, name: str) -> Any:
        if name not in self._loaded:
            with self._lock:
                if name not in self._loaded:
                    import dlib

                    self._loaded[name] = {
                        "detector": dlib.get_frontal_face_detector,
                        "five": lambda: dlib.shape_predictor(
                            weights("shape_predictor_5_face_landmarks.dat")
                        ),
                        "sixty_eight": lambda: dlib.shape_predictor(
                            weights("shape_predictor_68_face_landmarks.dat")
                        ),
                        "recogniser": lambda: dlib.face_recognition_model_v1(
                            weights("dlib_face_recognition_resnet_model_v1.dat")
                        ),
                    }[name]()
        return self._loaded[name]

    def detect(self, rgb: NDArray[np.uint8]) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, w, h) in ``rgb``'s pixels, largest first."""
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        small = rgb
        if scale < 1.0:
            from PIL import Image

            small = np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale))))
        upsample = 1 if max(small.shape[:2]) < UPSAMPLE_BELOW else 0
        with self._run:
            rects = self._get("detector")(small, upsample)
        boxes = [
            (
                round(r.left() / scale),
                round(r.top() / scale),
                round(r.width() / scale),
                round(r.height() / scale),
            )
            for r in rects
        ]
        return sorted(boxes, key=lambda b: -b[2] * b[3])

    def _rect(self, box: tuple[int, int, int, int]) -> Any:
        import dlib

        x, y, w, h = box
        return dlib.rectangle(x, y, x + w, y + h)

    def landmarks68(
        self, rgb: NDArray[np.uint8], box: tuple[int, int, int, int]
    ) -> NDArray[np.float64]:
        """The 68 iBUG landmarks (x, y) of the face in ``box`` (for the liveness challenge)."""
        with self._run:
            shape = self._get("sixty_eight")(rgb, self._rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def chip(self, rgb: NDArray[np.uint8], box: tuple[int, int, int, int]) -> NDArray[np.uint8]:
        """The aligned 150x150 face chip (5-point alignment, dlib's padding 0.25)."""
        import dlib

        with self._run:
            shape = self._get("five")(rgb, self._rect(box))
            return np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=0.25))

    def embed(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The 128-d descriptor of an aligned chip."""
        with self._run:
            vec = self._get("recogniser").compute_face_descriptor(np.ascontiguousarray(chip))
        return np.asarray(vec, dtype=np.float32)

    def face(
        self,
        rgb: NDArray[np.uint8],
        *,
        role: str,
        min_face_px: int,
        min_sharpness: float,
        strict_single: bool = True,
    ) -> Face:
        """The checked, embedded face of one photo; ``FaceQualityError`` says what is wrong."""
        boxes = self.detect(rgb)
        if not boxes:
            raise FaceQualityError(f"no face found in the {role} photo")
        flags: list[str] = []
        if len(boxes) > 1:
            if strict_single:
                raise FaceQualityError(
                    f"{len(boxes)} faces found in the {role} photo; exactly one is required"
                )
            flags.append("multiple_faces")
        box = boxes[0]
        if min(box[2], box[3]) < min_face_px:
            raise FaceQualityError(
                f"the face in the {role} photo is {min(box[2], box[3])} px; "
                f"at least {min_face_px} px is required"
            )
        chip = self.chip(rgb, box)
        grey = chip.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        sharpness = laplacian_variance(grey)
        if sharpness < min_sharpness:
            flags.append("blurry")
        return Face(box, self.embed(chip), sharpness, len(boxes), flags)
