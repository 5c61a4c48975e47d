"""Stored alerts (``/alerts``) and the drift history of a model
(``/models/{name}/drift/history``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from agora.api.schemas.common import RequestModel, ResponseModel, UtcDatetime

__all__ = [
    "Alert",
    "AlertAck",
    "AlertPage",
    "DriftCheck",
    "DriftHistory",
    "DriftPoint",
]

Severity = Literal["info", "warning", "error", "critical"]


class Alert(ResponseModel):
    """A condition a scheduled check raised, from first seen until it cleared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "kind": "drift",
                    "severity": "warning",
                    "subject": "ranking-pctr",
                    "message": "ranking-pctr@3: 1 of 9 inputs drifted: price (PSI 0.412, ...)",
                    "value": 0.412,
                    "threshold": 0.2,
                    "details": {"version": "3", "features": ["price"]},
                    "occurrences": 3,
                    "state": "open",
                    "first_seen": "2026-12-08T01:00:00Z",
                    "last_seen": "2026-12-08T03:00:00Z",
                    "resolved_at": None,
                    "acknowledged": True,
                    "acked_at": "2026-12-08T01:20:00Z",
                    "acked_by": "key:ab12cd34",
                    "ack_note": "retraining queued",
                }
            ]
        }
    )
    id: int
    kind: str = Field(
        description="drift, canary_rollback, fallback_rate, error_rate, queue_backlog "
        "or job_failed."
    )
    severity: Severity
    subject: str = Field(description="What it is about: a model, a route, a queue, a task.")
    message: str
    value: float | None = Field(description="The measured value at the last check.")
    threshold: float | None = Field(description="The limit the value crossed.")
    details: dict[str, Any]
    occurrences: int = Field(description="Checks that found the condition in this episode.")
    state: Literal["open", "resolved"]
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    resolved_at: UtcDatetime | None = Field(description="When a check found it cleared.")
    acknowledged: bool
    acked_at: UtcDatetime | None
    acked_by: str | None = Field(description="The key that acknowledged it (`key:<id>`).")
    ack_note: str | None


class AlertPage(ResponseModel):
    """A page of alerts, newest first."""

    items: list[Alert]
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; null on the last page."
    )


class AlertAck(RequestModel):
    """An acknowledgement: the alert was seen and someone is on it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "retraining queued"}]})
    note: str = Field(default="", max_length=500, description="Why, or what is being done.")


class DriftPoint(ResponseModel):
    """One feature (or the model score) at one drift check."""

    name: str
    psi: float | None = Field(description="null: a side had no values.")
    ks_statistic: float | None
    ks_pvalue: float | None
    drifted: bool


class DriftCheck(ResponseModel):
    """One scheduled drift check of the model."""

    measured_at: UtcDatetime
    version: str = Field(description="The champion version measured.")
    n_reference: int
    n_current: int
    psi_threshold: float
    n_drifted: int
    features: list[DriftPoint]


class DriftHistory(ResponseModel):
    """PSI and KS per feature at each stored drift check, oldest first."""

    model: str
    checks: list[DriftCheck]
