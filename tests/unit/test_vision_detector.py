"""The ONNX object-detection contract, on a tiny detector the test builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from agora.errors import InvalidInput
from agora.testing.onnx_detector import TINY_CLASSES, write_tiny_detector
from agora.vision.detector import OnnxDetector


@pytest.mark.parametrize("layout", ["yolov8", "yolov5"])
def test_decodes_letterboxes_thresholds_and_suppresses(tmp_path: Path, layout: str) -> None:
    path = write_tiny_detector(tmp_path / "det.onnx", layout=layout)
    det = OnnxDetector(path, TINY_CLASSES, input_size=64, layout=layout)  # type: ignore[arg-type]
    # 128x64 in a 64 square: scale 0.5, no left pad, 16 px top pad.
    found = det.detect(Image.new("RGB", (128, 64), (10, 20, 30)))
    assert [(d.label, round(d.score, 2)) for d in found] == [("person", 0.9), ("car", 0.7)]
    # Box (32, 32, 20, 20) in input pixels -> x 44, y 12, 40 x 40 in the image.
    assert found[0].box == (44, 12, 40, 40)
    assert found[0].to_dict() == {"class": "person", "score": 0.9, "box": [44, 12, 40, 40]}
    assert det.model.startswith("onnx-detector:det@")
    strict = OnnxDetector(path, TINY_CLASSES, input_size=64, layout=layout, score_min=0.95)  # type: ignore[arg-type]
    assert strict.detect(Image.new("RGB", (64, 64))) == []


def test_a_model_off_contract_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = write_tiny_detector(tmp_path / "det.onnx")
    with pytest.raises(InvalidInput, match="3 classes"):
        OnnxDetector(path, ["a", "b", "c"], input_size=64)
    with pytest.raises(InvalidInput, match="detector_input_size"):
        OnnxDetector(path, TINY_CLASSES, input_size=640)
    with pytest.raises(InvalidInput, match="does not exist"):
        OnnxDetector(tmp_path / "missing.onnx", TINY_CLASSES)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(InvalidInput, match="does not load"):
        OnnxDetector(tmp_path / "junk.onnx", TINY_CLASSES, input_size=64)
