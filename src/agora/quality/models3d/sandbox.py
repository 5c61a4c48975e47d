"""Validate a model file in a child process bounded in time and memory.

Model readers are native-heavy parsers fed hostile bytes: a header declaring
two billion vertices, a COLLADA entity bomb, a file that makes a C++ importer
spin. Each model is therefore validated by ``python -m
agora.quality.models3d.child`` in its own session, with an address-space and
CPU limit it sets on itself and a wall-clock limit the parent enforces by
killing the whole process group (Assimp included). Whatever happens, the
caller gets a report: a crash, a timeout or an exhausted limit is a ``fail``
verdict with the reason, never an exception in the worker.

Example:
    >>> limits = SandboxLimits(timeout_s=30, memory_mb=1024, assimp="assimp")
    >>> validate_model(Path("tank.glb"), "glb", budget=50_000, limits=limits)  # doctest: +SKIP
    {'loaded': True, 'format': 'glb', 'faces': 588, ..., 'verdict': 'ok'}
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import agora
from agora.quality.models3d.report import failed

# The child's imports (numpy, trimesh) take a moment on a busy machine; they
# are not the file's fault, so they get time beyond the limit of the job.
_STARTUP_S = 20.0


@dataclass(frozen=True)
class SandboxLimits:
    """Wall-clock seconds, address-space MiB and the Assimp command (or None)."""

    timeout_s: float = 60.0
    memory_mb: int = 2048
    assimp: str | None = "assimp"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The child imports this same agora, installed or from a source tree.
    source_root = str(Path(agora.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    # One BLAS thread: each would reserve address space against the limit.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def validate_model(
    path: Path, fmt: str, *, budget: int | None, limits: SandboxLimits
) -> dict[str, Any]:
    """The report of the model at ``path`` (format ``fmt``, typed by content),
    its files named relative to its folder; never raises for the file's sake."""
    job = {
        "path": str(path),
        "format": fmt,
        "budget": budget,
        "assimp": limits.assimp,
        "timeout_s": limits.timeout_s,
        "memory_mb": limits.memory_mb,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agora.quality.models3d.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=path.parent,
        env=_child_env(),
        start_new_session=True,  # its own process group: a timeout kills Assimp too
    )
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=limits.timeout_s + _STARTUP_S)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return failed(fmt, "timeout", f"validation took longer than {limits.timeout_s:g} s")
    finally:
        if proc.poll() is None:
            _kill(proc)
    if proc.returncode == 0:
        try:
            report: dict[str, Any] = json.loads(out)
            return report
        except ValueError:
            pass
    return failed(fmt, "resource_limit", _death(proc.returncode, err, limits))


def _death(code: int, err: bytes, limits: SandboxLimits) -> str:
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"validation exceeded its CPU limit ({limits.timeout_s:g} s)"
    text = err.decode("utf-8", "replace")
    if "MemoryError" in text or "std::bad_alloc" in text:
        return f"validation exceeded its memory limit ({limits.memory_mb} MiB)"
    if code < 0:
        return f"the reader crashed (signal {-code})"
    last = text.strip().splitlines()[-1:] or [f"exit status {code}"]
    return f"the validating process failed: {last[0][:200]}"
