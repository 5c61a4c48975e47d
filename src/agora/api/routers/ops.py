"""Operations endpoints at the root: ``/healthz``, ``/readyz``, ``/metrics``.

* ``/healthz``: liveness. The process answers; no backend is called, so a slow
  database never gets a healthy process killed.
* ``/readyz``: readiness. Checks each backend (catalog ``select 1``, bus ping,
  blob store write + delete), concurrently with a per-check timeout; 200 with
  per-check status and latency, or 503 problem+json naming the failures.
* ``/metrics``: Prometheus text format; aggregates every worker process when
  ``PROMETHEUS_MULTIPROC_DIR`` is set.

Example:
    >>> client.get("/readyz").json()["checks"]["catalog"]["status"]  # doctest: +SKIP
    'ok'
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agora import __version__
from agora.api.deps import PlatformDep
from agora.api.problems import problem
from agora.api.schemas.ops import Health, NotReady, Readiness
from agora.ops.metrics import metrics_registry
from agora.ops.queues import refresh_queue_depth
from agora.runtime import Platform

router = APIRouter(tags=["ops"])
CHECK_TIMEOUT_S = 3.0
# Checks run in their own small pool: a hung backend must not starve the
# request thread pool, and /readyz must answer within the probe's timeout.
_checks_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="agora-readyz")


def _blob_writable(platform: Platform) -> None:
    # Unique content: a content-addressed store would otherwise skip the write.
    ref = platform.blobs.put(
        f"agora readiness probe {uuid.uuid4().hex}".encode(),
        name="readyz.txt",
        media_type="text/plain",
    )
    platform.blobs.delete(ref.sha256)


def backend_checks(platform: Platform) -> dict[str, Callable[[], None]]:
    """The readiness checks, by name; each raises when its backend is not usable."""
    return {
        "catalog": platform.db.ping,
        "bus": platform.bus.ping,
        "blobs": lambda: _blob_writable(platform),
    }


def run_checks(
    checks: dict[str, Callable[[], None]], timeout_s: float = CHECK_TIMEOUT_S
) -> dict[str, dict[str, Any]]:
    """Run checks concurrently; ``{name: {status: ok|error, latency_ms, error?}}``."""

    def timed(fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1000

    futures = {name: _checks_pool.submit(timed, fn) for name, fn in checks.items()}
    results: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    for name, future in futures.items():
        try:
            latency = future.result(timeout=max(0.0, deadline - time.monotonic()))
            results[name] = {"status": "ok", "latency_ms": round(latency, 3)}
        except FutureTimeout:
            results[name] = {"status": "error", "error": f"no answer within {timeout_s} s"}
        # A probe reports any dependency failure as its answer instead of failing itself.
        except Exception as exc:  # noqa: BLE001
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return results


@router.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    """Liveness: the process is up (no backend calls)."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={
        503: {
            "model": NotReady,
            "description": "A backend is not usable (problem+json naming the failures).",
        }
    },
)
def readyz(platform: PlatformDep, request: Request) -> Any:
    """Readiness: the catalog, the bus and the blob store each answer within
    3 s (checked concurrently), and the served models are warm where this
    process warms them at start; 503 problem+json with every check otherwise."""
    probes = backend_checks(platform)
    warmup = getattr(request.app.state, "warmup", None)
    if warmup is not None:
        probes["models"] = warmup.check
    checks = run_checks(probes)
    failing = sorted(name for name, c in checks.items() if c["status"] != "ok")
    if failing:
        return problem(
            503,
            "Not ready",
            f"backends failing: {', '.join(failing)}",
            slug="not-ready",
            instance="/readyz",
            checks=checks,
        )
    return {"status": "ok", "checks": checks}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": f"The Prometheus text exposition format (`{CONTENT_TYPE_LATEST}`).",
        }
    },
)
def metrics(platform: PlatformDep) -> Response:
    """Prometheus exposition of every metric (all worker processes in multiprocess mode)."""
    refresh_queue_depth(platform.bus)
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)
