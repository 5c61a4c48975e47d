"""A tiny ONNX detector that meets ``agora.vision.detector``'s contract, for tests.

Its output is a fixed set of YOLOv8-layout boxes (plus zero times the input's
mean, so the graph reads its input): the contract's decoding, letterboxing,
score threshold and class-wise NMS are what is tested, with real onnxruntime.

Example:
    >>> path = write_tiny_detector(tmp_path / "det.onnx")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

# (cx, cy, w, h) in input pixels, then one score per class (person, car).
TINY_BOXES: tuple[tuple[float, ...], ...] = (
    (32.0, 32.0, 20.0, 20.0, 0.9, 0.1),  # person
    (33.0, 32.0, 20.0, 20.0, 0.8, 0.05),  # the same person again: NMS drops it
    (33.0, 32.0, 20.0, 20.0, 0.1, 0.7),  # a car in the same place: another class, kept
    (10.0, 10.0, 4.0, 4.0, 0.1, 0.2),  # below the score threshold
)
TINY_CLASSES = ("person", "car")


def write_tiny_detector(
    path: Path,
    boxes: Sequence[Sequence[float]] = TINY_BOXES,
    input_size: int = 64,
    layout: str = "yolov8",
) -> Path:
    """Write the detector to ``path`` (opset 13) and return it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rows = np.asarray(boxes, dtype=np.float32)
    if layout == "yolov5":  # (1, N, 5 + C): objectness 1 before the class scores
        rows = np.hstack([rows[:, :4], np.ones((len(rows), 1), np.float32), rows[:, 4:]])
        const = rows[None]
    else:  # (1, 4 + C, N)
        const = rows.T[None]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["boxes", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-detector",
        [
            helper.make_tensor_value_info(
                "images", TensorProto.FLOAT, [1, 3, input_size, input_size]
            )
        ],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(const.shape))],
        initializer=[
            numpy_helper.from_array(const.astype(np.float32), "boxes"),
            numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
