"""Media processing (issue 25): texture upscaling, mesh decimation and LODs,
format conversion, thumbnails, run as versioned optimisation jobs.

Modules (the heavy libraries load only where they are used):

* ``upscale``: Real-ESRGAN x4 through ncnn, tiled, Lanczos fallback;
* ``mesh``: quadric decimation, LOD chains, sampled Hausdorff error;
* ``convert``: 3D formats through trimesh and Assimp, with a loss report;
* ``images``: webp/avif/png under size limits, thumbnails;
* ``render``: flat-shaded software previews and turntables of 3D models;
* ``options``/``operations``: typed options and the operations on bytes;
* ``jobs``/``worker``: the API's requests and the bus consumer that runs them.
"""

from agora.processing.options import (
    ConvertOptions,
    LodOptions,
    Operation,
    OptimizationSpec,
    ThumbnailOptions,
    UpscaleOptions,
)

__all__ = [
    "ConvertOptions",
    "LodOptions",
    "Operation",
    "OptimizationSpec",
    "ThumbnailOptions",
    "UpscaleOptions",
]
