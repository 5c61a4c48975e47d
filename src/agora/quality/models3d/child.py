"""The sandboxed child process: ``python -m agora.quality.models3d.child``.

Reads one job as JSON on stdin (``path``, ``format``, ``budget``, ``assimp``,
``timeout_s``, ``memory_mb``), caps its own address space and CPU time before
it touches the file, and writes the report as JSON on stdout. A reader that
runs away is stopped by the kernel (memory, CPU) or by the parent (wall
clock); the worker only ever sees a report or a dead child.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any


def _limit(memory_mb: int, cpu_s: float) -> None:
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, math.ceil(cpu_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # Files a reader or Assimp writes (a conversion) stay small too.
    files = 1024 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _finite(value: Any) -> Any:
    """JSON without NaN or infinity (PostgreSQL's JSON refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def main() -> None:
    """Run one job from stdin; the report goes to stdout."""
    job = json.loads(sys.stdin.read())
    _limit(int(job["memory_mb"]), float(job["timeout_s"]))
    from agora.quality.models3d.analyse import analyse
    from agora.quality.models3d.report import failed

    fmt = str(job["format"])
    try:
        with tempfile.TemporaryDirectory(prefix="agora-model-") as workdir:
            report = analyse(
                Path(job["path"]),
                fmt,
                budget=job.get("budget"),
                assimp=job.get("assimp") or None,
                workdir=Path(workdir),
                timeout_s=float(job["timeout_s"]),
            )
    except MemoryError:
        report = failed(fmt, "resource_limit", "validation ran out of its memory limit")
    # The last line of defence of the child: any bug becomes a report.
    except Exception as exc:  # noqa: BLE001
        report = failed(fmt, "load_failed", f"{type(exc).__name__}: {exc}"[:300])
    sys.stdout.write(json.dumps(_finite(report)))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the report is out


if __name__ == "__main__":
    main()
