"""Object detection contract: operators plug their own ONNX detector weights in.

No general object-detection weights ship in any package reachable here
(MODELS.md), so Agora defines the contract seed 001's YOLO detector is served
through, and runs any ONNX file that meets it with onnxruntime:

* **input**: one float32 tensor ``(1, 3, S, S)``, RGB scaled to [0, 1], the
  image letterboxed to ``S`` x ``S`` (aspect kept, padded with grey 114, as
  Ultralytics exports expect); ``S`` is ``input_size`` (checked against the
  model's declared shape when it is static);
* **output**: the first output, YOLO layout, either ``(1, 4 + C, N)``
  (YOLOv8 and later: box ``cx, cy, w, h`` in input pixels, then C class
  scores) or ``(1, N, 5 + C)`` with ``layout="yolov5"`` (box, objectness,
  class scores); ``C`` must equal the length of the class list;
* **post-processing**: per-box best class, ``score_min``, then class-wise
  non-maximum suppression at ``iou_max`` (OpenCV's ``NMSBoxesBatched``), boxes
  mapped back to the original image's pixels, at most ``max_detections``.

A model that does not meet it fails at load with a message that says which
part; ``analyze-image`` reports that no detector is configured when none is.

Example:
    >>> det = OnnxDetector("yolo.onnx", ["person", "car"], input_size=640)  # doctest: +SKIP
    >>> det.detect(image)[0].to_dict()  # doctest: +SKIP
    {'class': 'car', 'score': 0.91, 'box': [12, 40, 200, 96]}
    >>> letterbox_geometry((200, 100), 64)
    (0.32, 0, 16)
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

Layout = Literal["yolov8", "yolov5"]
PAD_GREY = 114


@dataclass(frozen=True)
class Detection:
    """One detected object: class name, score, ``[x, y, width, height]`` in image pixels."""

    label: str
    score: float
    box: tuple[int, int, int, int]

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.label, "score": round(self.score, 4), "box": list(self.box)}


def letterbox_geometry(size: tuple[int, int], side: int) -> tuple[float, int, int]:
    """(scale, left pad, top pad) placing an image of ``size`` (w, h) in a ``side`` square."""
    w, h = size
    scale = min(side / w, side / h)
    new_w, new_h = round(w * scale), round(h * scale)
    return scale, (side - new_w) // 2, (side - new_h) // 2


def letterbox(image: Any, side: int) -> tuple[NDArray[np.float32], float, int, int]:
    """The ``(1, 3, side, side)`` input tensor of a Pillow image, and its geometry."""
    from PIL import Image

    rgb = image.convert("RGB")
    scale, left, top = letterbox_geometry(rgb.size, side)
    resized = rgb.resize(
        (round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BILINEAR
    )
    canvas = Image.new("RGB", (side, side), (PAD_GREY, PAD_GREY, PAD_GREY))
    canvas.paste(resized, (left, top))
    pixels = np.asarray(canvas, dtype=np.float32) / np.float32(255.0)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None]), scale, left, top


class OnnxDetector:
    """An operator's ONNX detector under the contract of this module (thread-safe)."""

    def __init__(
        self,
        path: str | Path,
        classes: Sequence[str],
        *,
        input_size: int = 640,
        layout: Layout = "yolov8",
        score_min: float = 0.25,
        iou_max: float = 0.45,
        max_detections: int = 100,
        threads: int = 1,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInput(f"detector model {self.path} does not exist")
        if not classes:
            raise InvalidInput("the detector needs its class list (vision.detector_classes)")
        self.classes = list(classes)
        self.input_size = input_size
        self.layout = layout
        self.score_min = score_min
        self.iou_max = iou_max
        self.max_detections = max_detections
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise InvalidInput(f"detector model {self.path} does not load: {exc}") from None
        self._check_contract()
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]
        self.model = f"onnx-detector:{self.path.stem}@{digest}"

    def _check_contract(self) -> None:
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise InvalidInput(f"the detector must have one input, it has {len(inputs)}")
        self._input = inputs[0].name
        shape = list(inputs[0].shape)
        if len(shape) != 4 or shape[1] not in (3, "3"):
            raise InvalidInput(f"the detector input must be (1, 3, S, S), it is {shape}")
        for dim in shape[2:]:
            if isinstance(dim, int) and dim != self.input_size:
                raise InvalidInput(
                    f"the detector input is {shape[2]}x{shape[3]}, the settings say "
                    f"{self.input_size}: set vision.detector_input_size"
                )
        out = list(self._session.get_outputs()[0].shape)
        wanted = len(self.classes) + (5 if self.layout == "yolov5" else 4)
        axis = -1 if self.layout == "yolov5" else 1
        if len(out) != 3 or (isinstance(out[axis], int) and out[axis] != wanted):
            raise InvalidInput(
                f"the detector output {out} does not fit layout {self.layout} with "
                f"{len(self.classes)} classes (expected {wanted} values per box)"
            )

    def _raw(self, tensor: NDArray[np.float32]) -> tuple[NDArray[np.float64], ...]:
        """(boxes cx,cy,w,h (N, 4), scores (N,), class ids (N,)) of one input tensor."""
        out = np.asarray(self._session.run(None, {self._input: tensor})[0], dtype=np.float64)[0]
        if self.layout == "yolov8":
            rows = out.T  # (N, 4 + C)
            class_scores = rows[:, 4:]
        else:
            rows = out  # (N, 5 + C)
            class_scores = rows[:, 5:] * rows[:, 4:5]
        if class_scores.shape[1] != len(self.classes):
            raise InvalidInput(
                f"the detector gave {class_scores.shape[1]} class scores, not {len(self.classes)}"
            )
        ids = class_scores.argmax(axis=1)
        return rows[:, :4], class_scores[np.arange(len(ids)), ids], ids.astype(np.float64)

    def detect(self, image: Any) -> list[Detection]:
        """Objects in one Pillow image, best score first."""
        import cv2

        tensor, scale, left, top = letterbox(image, self.input_size)
        boxes, scores, ids = self._raw(tensor)
        keep = scores >= self.score_min
        boxes, scores, ids = boxes[keep], scores[keep], ids[keep].astype(int)
        if not len(scores):
            return []
        # cx, cy, w, h in input pixels -> x, y, w, h in image pixels.
        xywh = np.column_stack(
            [
                (boxes[:, 0] - boxes[:, 2] / 2 - left) / scale,
                (boxes[:, 1] - boxes[:, 3] / 2 - top) / scale,
                boxes[:, 2] / scale,
                boxes[:, 3] / scale,
            ]
        )
        kept = cv2.dnn.NMSBoxesBatched(
            xywh.tolist(), scores.tolist(), ids.tolist(), self.score_min, self.iou_max
        )
        order = sorted(np.asarray(kept, dtype=int).ravel().tolist(), key=lambda i: -scores[i])
        w, h = image.size
        found = []
        for i in order[: self.max_detections]:
            x0, y0 = max(0.0, xywh[i, 0]), max(0.0, xywh[i, 1])
            x1, y1 = min(float(w), xywh[i, 0] + xywh[i, 2]), min(float(h), xywh[i, 1] + xywh[i, 3])
            box = (round(x0), round(y0), round(x1 - x0), round(y1 - y0))
            found.append(Detection(self.classes[ids[i]], float(scores[i]), box))
        return found
