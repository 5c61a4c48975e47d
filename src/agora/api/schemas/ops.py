"""Health, readiness and metrics (the public ops routes)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from agora.api.schemas.common import Problem, ResponseModel


class Health(ResponseModel):
    """Liveness: the process answers."""

    status: Literal["ok"]
    version: str = Field(description="Agora's version.")


class CheckResult(ResponseModel):
    """One backend's readiness check."""

    status: Literal["ok", "error"]
    latency_ms: float | None = Field(default=None, description="When it answered.")
    error: str | None = Field(default=None, description="Why it is not usable.")


class Readiness(ResponseModel):
    """Every backend answered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "checks": {
                        "catalog": {"status": "ok", "latency_ms": 0.41},
                        "bus": {"status": "ok", "latency_ms": 0.05},
                        "blobs": {"status": "ok", "latency_ms": 0.9},
                    },
                }
            ]
        }
    )
    status: Literal["ok"]
    checks: dict[str, CheckResult] = Field(
        description="catalog, bus, blobs; models where the process warms them at start."
    )


class NotReady(Problem):
    """A 503 problem naming the failing backends, with every check's result."""

    checks: dict[str, CheckResult]
