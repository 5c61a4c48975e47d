"""Drift over time: every drift check's PSI and KS per feature, stored.

``measure_drift`` (the scheduled ``drift_check``) records each champion's
report here; the console's drift page charts it and
``GET /api/v1/models/{name}/drift/history`` serves it. One check's rows share
their ``measured_at``, so a check reads back as one point per feature.

Example:
    >>> history = DriftHistory(db)  # doctest: +SKIP
    >>> history.record("ranking-pctr", "3", report)  # doctest: +SKIP
    >>> history.checks("ranking-pctr", limit=20)[-1].features[0].psi  # doctest: +SKIP
    0.031
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from agora.errors import InvalidInput
from agora.mlops.tables import DriftMeasurementRow
from agora.storage.tables import stored_utc

if TYPE_CHECKING:
    from agora.mlops.drift import DriftReport
    from agora.storage.database import Database


def _stored(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


@dataclass(frozen=True)
class FeaturePoint:
    """One feature's figures at one check (None: a side had no values)."""

    name: str
    psi: float | None
    ks_statistic: float | None
    ks_pvalue: float | None
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "psi": self.psi,
            "ks_statistic": self.ks_statistic,
            "ks_pvalue": self.ks_pvalue,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class DriftCheck:
    """One drift check of one model: its version, sample sizes and every feature."""

    measured_at: datetime
    version: str
    n_reference: int
    n_current: int
    psi_threshold: float
    features: list[FeaturePoint]

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured_at": self.measured_at,
            "version": self.version,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "psi_threshold": self.psi_threshold,
            "n_drifted": sum(f.drifted for f in self.features),
            "features": [f.to_dict() for f in self.features],
        }


class DriftHistory:
    """Append and read per-feature drift measurements."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self, model: str, version: str, report: DriftReport, at: datetime | None = None
    ) -> datetime:
        """Store every feature of ``report`` as measured at ``at`` (default: now)."""
        at = at or datetime.now(UTC)
        rows = [
            {
                "model_name": model,
                "version": version,
                "feature": f.name[:128],
                "psi": _stored(f.psi),
                "ks_statistic": _stored(f.ks_statistic),
                "ks_pvalue": _stored(f.ks_pvalue),
                "drifted": f.drifted,
                "n_reference": report.n_reference,
                "n_current": report.n_current,
                "psi_threshold": report.psi_threshold,
                "measured_at": at,
            }
            for f in report.features
        ]
        if rows:
            with self.db.session() as s:
                s.execute(insert(DriftMeasurementRow), rows)
        return at

    def checks(
        self, model: str, *, limit: int = 50, since: datetime | None = None
    ) -> list[DriftCheck]:
        """The latest ``limit`` checks of ``model`` (since ``since``), oldest first."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        stamps = (
            select(DriftMeasurementRow.measured_at)
            .where(DriftMeasurementRow.model_name == model)
            .distinct()
            .order_by(DriftMeasurementRow.measured_at.desc())
            .limit(limit)
        )
        if since is not None:
            stamps = stamps.where(DriftMeasurementRow.measured_at >= since)
        with self.db.session() as s:
            times = list(s.scalars(stamps))
            if not times:
                return []
            rows = s.scalars(
                select(DriftMeasurementRow)
                .where(
                    DriftMeasurementRow.model_name == model,
                    DriftMeasurementRow.measured_at >= min(times),
                )
                .order_by(DriftMeasurementRow.measured_at, DriftMeasurementRow.id)
            ).all()
        grouped: dict[datetime, list[DriftMeasurementRow]] = {}
        for row in rows:
            grouped.setdefault(row.measured_at, []).append(row)
        return [
            DriftCheck(
                measured_at=stored_utc(at),
                version=group[0].version,
                n_reference=int(group[0].n_reference),
                n_current=int(group[0].n_current),
                psi_threshold=float(group[0].psi_threshold),
                features=[
                    FeaturePoint(r.feature, r.psi, r.ks_statistic, r.ks_pvalue, bool(r.drifted))
                    for r in group
                ],
            )
            for at, group in grouped.items()
        ]

    def models(self) -> list[str]:
        """Models with at least one stored check."""
        with self.db.session() as s:
            return sorted(s.scalars(select(DriftMeasurementRow.model_name).distinct()).all())
