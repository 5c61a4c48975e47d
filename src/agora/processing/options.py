"""Typed options of each optimisation, shared by the API, the bus event and the worker.

Options are validated once, when the job is requested; their canonical JSON
(defaults filled in, keys sorted) is what the idempotency key and the
derivative version hash, so ``{}`` and ``{"model": "fast"}`` name the same job.

Example:
    >>> spec = OptimizationSpec.model_validate({"operation": "lods", "options": {"ratios": [0.5]}})
    >>> spec.canonical_options()
    '{"face_budgets":null,"file":null,"ratios":[0.5],"samples":20000}'
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Operation = Literal["upscale", "lods", "convert", "thumbnails"]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(
        default=None,
        description="sha256 or file name of the asset's source file; default: the first "
        "image (upscale) or 3D model (lods, convert) of the asset.",
    )


class UpscaleOptions(_Options):
    """Real-ESRGAN x4 (``fast``: animevideov3, ``quality``: x4plus) or Lanczos."""

    model: Literal["fast", "quality", "lanczos"] = "fast"
    tileable: bool = Field(default=False, description="Pad by wrapping around (seamless tiles).")
    tile: Annotated[int, Field(ge=16, le=512)] = 128
    format: Literal["png", "webp"] = "png"


class LodOptions(_Options):
    """A LOD chain by face ratios or face budgets, with the error of each level."""

    ratios: list[Annotated[float, Field(gt=0, le=1)]] | None = Field(
        default=None, min_length=1, max_length=8, description="Default: 1, 0.5, 0.25, 0.1."
    )
    face_budgets: list[Annotated[int, Field(ge=4)]] | None = Field(
        default=None, min_length=1, max_length=8
    )
    samples: Annotated[int, Field(ge=1000, le=200_000)] = 20_000

    @model_validator(mode="after")
    def _one_target(self) -> LodOptions:
        if self.ratios is not None and self.face_budgets is not None:
            raise ValueError("give ratios or face_budgets, not both")
        return self


class ConvertOptions(_Options):
    """A 3D model to another format, or an image to webp/avif/png under a size limit."""

    target: Literal["glb", "gltf", "obj", "stl", "ply", "dae", "webp", "avif", "png"]
    max_bytes: Annotated[int, Field(ge=1024)] | None = Field(
        default=None, description="Images only: the largest encoded size."
    )
    max_side: Annotated[int, Field(ge=16, le=16384)] | None = None


class ThumbnailOptions(_Options):
    """Square thumbnails of an image or a 3D model (and a turntable for models)."""

    sizes: list[Annotated[int, Field(ge=16, le=2048)]] = Field(
        default_factory=lambda: [128, 256, 512], min_length=1, max_length=6
    )
    format: Literal["webp", "png", "avif"] = "webp"
    turntable: bool = Field(default=False, description="3D models: an animated webp too.")


OPTION_TYPES: dict[str, type[_Options]] = {
    "upscale": UpscaleOptions,
    "lods": LodOptions,
    "convert": ConvertOptions,
    "thumbnails": ThumbnailOptions,
}


class OptimizationSpec(BaseModel):
    """One operation and its options."""

    model_config = ConfigDict(extra="forbid")

    operation: Operation
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _typed_options(self) -> OptimizationSpec:
        # Validated into the operation's model, stored back as its full dump.
        typed = OPTION_TYPES[self.operation].model_validate(self.options)
        self.options = typed.model_dump(mode="json")
        return self

    def typed(self) -> Any:
        """The options as the operation's model."""
        return OPTION_TYPES[self.operation].model_validate(self.options)

    def canonical_options(self) -> str:
        """Sorted, compact JSON of the full options: what keys and versions hash."""
        return json.dumps(self.options, sort_keys=True, separators=(",", ":"))


def digest(*parts: str) -> str:
    """A 24-hex-digit key over ``parts`` (a derived file's version segment)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
