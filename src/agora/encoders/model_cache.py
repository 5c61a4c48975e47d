"""Converted models on disk: the EfficientNet-Lite0 ONNX file, built once per weights file.

The conversion (read the ``.pth``, fold batch norm, write ONNX) takes about a
second; its result is cached as
``efficientnet-lite0-<sha256 of the weights, 16 hex>-c<converter version>.onnx``
so a new weights file or a changed converter never reuses a stale graph.
Processes that start together convert once: a file lock beside the cache
serialises them, and the file is written to a temporary name and renamed into
place, so a reader never sees half a model.

The cache folder is ``~/.cache/agora/models``, or a per-user folder under the
system temporary directory when the home directory cannot be written
(containers with a read-only home); callers may pass their own ``cache_dir``.
(No environment variable is read here: settings are read at the entry point.)

Example:
    >>> path = lite0_onnx()  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'efficientnet-lite0-0b1f...-c1.onnx'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock


def default_cache_dir() -> Path:
    """Where converted models are kept (created if missing); see the module docstring."""
    candidates = [Path(tempfile.gettempdir()) / f"agora-models-{os.getuid()}"]
    with contextlib.suppress(RuntimeError):  # RuntimeError: no home directory at all
        candidates.insert(0, Path.home() / ".cache" / "agora" / "models")
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    raise OSError(f"no writable model cache folder among {[str(c) for c in candidates]}")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def lite0_onnx(weights: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The cached ONNX file of EfficientNet-Lite0 for ``weights`` (converted on first use)."""
    from agora.encoders.efficientnet import CONVERTER_VERSION, packaged_weights

    weights = Path(weights) if weights is not None else packaged_weights()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"efficientnet-lite0-{file_sha256(weights)[:16]}-c{CONVERTER_VERSION}.onnx"
    if target.exists():
        return target
    with FileLock(str(target) + ".lock"):
        if not target.exists():  # another process may have converted while we waited
            _convert(weights, target)
    return target


def _convert(weights: Path, target: Path) -> None:
    from agora.encoders.efficientnet import build_lite0_onnx
    from agora.encoders.torch_checkpoint import load_state_dict

    model = build_lite0_onnx(load_state_dict(weights))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def onnx_session(path: Path, threads: int) -> Any:
    """A CPU onnxruntime session on ``threads`` cores (one inter-op thread)."""
    import onnxruntime as ort

    from agora.encoders.threads import intra_op_threads

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra_op_threads(threads)
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
