"""Liveness from an active challenge, or from the operator's own model.

No packaged passive-liveness (anti-spoofing) model and no reachable spoof
data set exist, so liveness is an **active challenge**: the client records a
short sequence of frames while the user blinks and turns the head; a printed
photo or a still replayed to the camera does neither.

* **blink**: the eye aspect ratio (EAR, Soukupová and Čech 2016) of each frame
  from the 68 landmarks, ``(|p2-p6| + |p3-p5|) / (2 |p1-p4|)`` averaged over
  both eyes; an open eye sits near 0.3, a closed one below 0.2. The blink's
  depth is ``1 - min EAR / open EAR`` (open: the 90th percentile).
* **head turn**: the yaw proxy of each frame, the nose tip's horizontal offset
  from the eyes' midpoint over the inter-ocular distance (0 facing the
  camera, about +-0.3 at 30 degrees); the turn is its range over the frames.

Each challenge's evidence is mapped linearly between a floor (a still photo's
jitter) and a ceiling (a clear blink or turn) to [0, 1]; ``liveness_prob`` is
the weakest challenge's value. These are fixed, documented constants, **not
a calibrated probability**: without spoof data nothing can calibrate one. An
operator with a trained model sets ``ekyc.liveness_model`` (an ONNX file,
:class:`OnnxLivenessModel`), and its output is the ``liveness_prob``.

Example:
    >>> round(eye_aspect_ratio(np.array([[0, 0], [1, -1], [2, -1], [3, 0], [2, 1], [1, 1]])), 3)
    0.667
    >>> challenge_scores([0.3, 0.31, 0.12, 0.3], [0.0, 0.01, 0.02, 0.01])["blink"]
    1.0
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from agora.errors import InvalidInput

Challenge = Literal["blink", "turn", "blink_and_turn"]
# iBUG 68-point indices: the eyes (6 points each) and the nose tip.
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
NOSE_TIP = 30
# Evidence floor and ceiling of each challenge (see the module docstring).
BLINK_DEPTH = (0.15, 0.35)
TURN_RANGE = (0.08, 0.25)
MIN_FRAMES = 3


def eye_aspect_ratio(eye: NDArray[np.float64]) -> float:
    """EAR of six eye landmarks in iBUG order (corner, upper lid x2, corner, lower lid x2)."""
    a = np.linalg.norm(eye[1] - eye[5])
    b = np.linalg.norm(eye[2] - eye[4])
    c = np.linalg.norm(eye[0] - eye[3])
    return float((a + b) / (2.0 * c)) if c else 0.0


def frame_signals(points: NDArray[np.float64]) -> tuple[float, float]:
    """(EAR of both eyes, yaw proxy) of one frame's 68 landmarks."""
    right, left = points[RIGHT_EYE], points[LEFT_EYE]
    ear = (eye_aspect_ratio(right) + eye_aspect_ratio(left)) / 2.0
    r_centre, l_centre = right.mean(axis=0), left.mean(axis=0)
    span = float(np.linalg.norm(l_centre - r_centre)) or 1.0
    yaw = float((points[NOSE_TIP, 0] - (r_centre[0] + l_centre[0]) / 2.0) / span)
    return ear, yaw


def _ramp(value: float, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def challenge_scores(ears: Sequence[float], yaws: Sequence[float]) -> dict[str, float]:
    """Blink and turn evidence in [0, 1], with the measured depth and range."""
    e = np.asarray(ears, dtype=np.float64)
    y = np.asarray(yaws, dtype=np.float64)
    open_ear = float(np.percentile(e, 90)) if len(e) else 0.0
    depth = 1.0 - float(e.min()) / open_ear if open_ear > 0 else 0.0
    turn = float(y.max() - y.min()) if len(y) else 0.0
    return {
        "blink": _ramp(depth, BLINK_DEPTH),
        "turn": _ramp(turn, TURN_RANGE),
        "blink_depth": round(depth, 4),
        "turn_range": round(turn, 4),
        "open_ear": round(open_ear, 4),
    }


def challenge_liveness(scores: dict[str, float], challenge: Challenge) -> float:
    """The weakest required challenge's evidence."""
    parts = {"blink": ["blink"], "turn": ["turn"], "blink_and_turn": ["blink", "turn"]}[challenge]
    return min(scores[p] for p in parts)


@dataclass(frozen=True)
class LivenessResult:
    """``liveness_prob`` and how it was reached."""

    prob: float | None
    method: str
    calibrated: bool
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "liveness_prob": None if self.prob is None else round(self.prob, 4),
            "method": self.method,
            "calibrated": self.calibrated,
            **self.details,
        }


class OnnxLivenessModel:
    """An operator's liveness model: ONNX, input ``(T, 3, S, S)`` aligned face chips
    (RGB in [0, 1], T frames of the challenge), first output one value: P(live).

    Example:
        >>> OnnxLivenessModel("liveness.onnx").predict(chips)  # doctest: +SKIP
        0.97
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInput(f"liveness model {self.path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise InvalidInput(f"liveness model {self.path} does not load: {exc}") from None
        shape = self._session.get_inputs()[0].shape
        if len(shape) != 4 or shape[1] not in (3, "3"):
            raise InvalidInput(f"the liveness model input must be (T, 3, S, S), it is {shape}")
        self.size = shape[2] if isinstance(shape[2], int) else 150
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]
        self.name = f"onnx-liveness:{self.path.stem}@{digest}"

    def predict(self, chips: Sequence[NDArray[np.uint8]]) -> float:
        """P(live) of one challenge's face chips."""
        from PIL import Image

        batch = np.stack(
            [
                np.asarray(Image.fromarray(c).resize((self.size, self.size)), dtype=np.float32)
                / np.float32(255.0)
                for c in chips
            ]
        ).transpose(0, 3, 1, 2)
        name = self._session.get_inputs()[0].name
        out = np.asarray(self._session.run(None, {name: np.ascontiguousarray(batch)})[0])
        return float(np.clip(out.ravel()[0], 0.0, 1.0))
