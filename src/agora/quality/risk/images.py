"""Image resolution and sharpness, measured on the stored image.

Sharpness is the variance of the Laplacian of the grey image (Pech-Pacheco et
al. 2000, "Diatom autofocusing in brightfield microscopy"), measured on a copy
no larger than ``SIDE`` pixels so that images of different sizes compare;
``sharp`` maps it to [0, 1) with ``1 - exp(-var / SHARP_VAR)``: a variance of
100 (the usual "blurry below" cut) scores 0.63. Resolution credit grows
linearly up to ``FULL_SIDE`` pixels on the shorter side.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (64, 64), "red").save(buf, "PNG")
    >>> measure_image(buf.getvalue())["sharpness"]
    0.0
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Any

import numpy as np

SIDE = 512
FULL_SIDE = 1024
SHARP_VAR = 100.0
MAX_PIXELS = 64_000_000


def measure_image(data: bytes) -> dict[str, Any]:
    """``{width, height, laplacian_var, sharpness, resolution}`` of an image's bytes."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValueError(f"{width}x{height} is too large to measure")
            grey = image.convert("L")
            grey.thumbnail((SIDE, SIDE))
            pixels = np.asarray(grey, dtype=np.float64)
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        var = 0.0
    else:
        lap = (
            4 * pixels[1:-1, 1:-1]
            - pixels[:-2, 1:-1]
            - pixels[2:, 1:-1]
            - pixels[1:-1, :-2]
            - pixels[1:-1, 2:]
        )
        var = float(lap.var())
    return {
        "width": width,
        "height": height,
        "laplacian_var": round(var, 2),
        "sharpness": round(1.0 - math.exp(-var / SHARP_VAR), 4),
        "resolution": round(min(1.0, min(width, height) / FULL_SIDE), 4),
    }
