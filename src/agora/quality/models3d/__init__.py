"""3D model validation: a verdict with reasons for every model an asset holds.

``validate_model`` checks one file in a bounded child process; the pipeline
step ``models3d`` (``agora.quality.models3d.step.Models3DStep``) stages an
asset's files (multi-file uploads and archives alike) and validates each
model. The report's fields and defect codes are in ``report``.

Example:
    >>> from pathlib import Path
    >>> limits = SandboxLimits(timeout_s=30, memory_mb=1024, assimp=None)
    >>> validate_model(Path("box.stl"), "stl", budget=None, limits=limits)  # doctest: +SKIP
"""

from agora.quality.models3d.report import DEFECTS, empty_report, verdict_of
from agora.quality.models3d.sandbox import SandboxLimits, validate_model

__all__ = ["DEFECTS", "SandboxLimits", "empty_report", "validate_model", "verdict_of"]
