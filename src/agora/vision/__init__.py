"""Visual intelligence beside safety: image condition and the object-detection contract.

- ``measures``: classical quality measures (blur, noise, exposure, blockiness, resolution);
- ``degrade``: synthetic degradations with a strength, the condition model's labels;
- ``condition``: the condition model and its serving grader (``image-condition``);
- ``corpus``: the shared images it is trained and tested on;
- ``detector``: an operator's ONNX detector under Agora's contract.
"""

from __future__ import annotations

from agora.vision.condition import CONDITION_MODEL, ConditionGrader, ConditionModel
from agora.vision.detector import Detection, OnnxDetector

__all__ = ["CONDITION_MODEL", "ConditionGrader", "ConditionModel", "Detection", "OnnxDetector"]
