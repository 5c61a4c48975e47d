"""Training data for the ranking models: the served-list feature log, labelled.

The pCTR, pCVR and LambdaMART pipelines train on exactly what the ranking
service serves with (the Metarank lesson): every served list was logged with
the feature vector the scorer saw (``agora.ranking.feature_log``), so a
training row is point-in-time correct by construction and the feature list is
the serving one (``agora.ranking.hydration.FEATURES``). Rebuilding those
features offline (stream aggregates, affinities, catalog state at serving
time) would be a second implementation that drifts from serving.

1. ``extract_interactions``: the window's events (default: last 28 days) with
   the interaction-id range they cover (part of the data snapshot id, and what
   the 100k-interactions trigger counts from).
2. ``served_training_set``: the organic slots served in the window with the
   current feature schema, labelled by ``label_impressions`` (seed 001: click
   = 1 within the 1-hour attribution window, explicit skip = 0; purchases for
   pCVR), ordered by request and position (one LambdaMART group per request).

Example:
    >>> window = extract_interactions(platform.db, end=now, days=28)  # doctest: +SKIP
    >>> data = served_training_set(platform.db, window)  # doctest: +SKIP
    >>> data.matrix.shape[1] == len(data.feature_names)  # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import select

from agora.errors import InvalidInput
from agora.storage.database import Database
from agora.storage.tables import InteractionRow

LABEL_EVENTS = ("click", "skip", "purchase")


@dataclass(frozen=True)
class InteractionWindow:
    """Events of one training window and the snapshot id that names them."""

    events: pd.DataFrame  # user_id, asset_id, type, ts
    start: datetime
    end: datetime
    min_id: int
    max_id: int

    @property
    def snapshot(self) -> str:
        return (
            f"interactions:{self.min_id}-{self.max_id}"
            f"@{self.start.isoformat()}..{self.end.isoformat()}"
        )


def extract_interactions(db: Database, *, end: datetime, days: float) -> InteractionWindow:
    """Events with ``end - days <= ts < end``, oldest first."""
    start = end - timedelta(days=days)
    cols = [
        InteractionRow.id,
        InteractionRow.user_id,
        InteractionRow.asset_id,
        InteractionRow.type,
        InteractionRow.ts,
    ]
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(*cols)
            .where(InteractionRow.ts >= start, InteractionRow.ts < end)
            .order_by(InteractionRow.ts, InteractionRow.id)
        ).all()
    frame = pd.DataFrame(rows, columns=["id", "user_id", "asset_id", "type", "ts"])
    if frame.empty:
        raise InvalidInput(f"no interactions between {start.isoformat()} and {end.isoformat()}")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return InteractionWindow(
        frame.drop(columns=["id"]), start, end, int(frame["id"].min()), int(frame["id"].max())
    )


@dataclass(frozen=True)
class ServedTrainingSet:
    """Labelled served slots of a window: features exactly as served."""

    frame: pd.DataFrame  # request_id, user_id, asset_id, position, ts, clicked, purchased, ...
    matrix: NDArray[np.float64]  # rows follow ``frame``
    feature_names: list[str]
    snapshot: str

    def __len__(self) -> int:
        return len(self.frame)

    def holdout_mask(self, cut: datetime) -> NDArray[np.bool_]:
        """True for slots served at or after ``cut`` (the holdout: the last 24 hours)."""
        return np.asarray((self.frame["ts"] >= pd.Timestamp(cut)).to_numpy(), dtype=np.bool_)

    def groups(self, mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Rows per request among ``mask`` rows (consecutive, as LambdaMART wants)."""
        ids = self.frame["request_id"].to_numpy()[mask]
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        return np.asarray(np.diff(np.r_[starts, len(ids)]), dtype=np.int64)


def served_training_set(
    db: Database, window: InteractionWindow, *, attribution: timedelta
) -> ServedTrainingSet:
    """Organic slots served in the window, labelled by the window's events.

    Only lists served with the current feature schema are kept: a version must
    be trainable from, and servable with, the same feature list.
    """
    from agora.ranking.feature_log import FeatureLog, matrix_of
    from agora.ranking.hydration import FEATURES
    from agora.ranking.labels import label_impressions

    served = FeatureLog(db).served(since=window.start)
    if len(served):
        served = served[
            (served["ts"] < pd.Timestamp(window.end))
            & ~served["sponsored"].astype(bool)
            & served["feature_names"].map(lambda n: list(n or []) == FEATURES)
            & (served["features"].map(len) == len(FEATURES))
        ]
    if not len(served):
        raise InvalidInput(
            "the feature log has no served lists in the training window; serve feeds or "
            "ranked searches (GET /api/v1/feed/{user_id}) first"
        )
    events = window.events[window.events["type"].isin(LABEL_EVENTS)]
    labelled = label_impressions(events, impressions=served, window=attribution)
    labelled = labelled.sort_values(["request_id", "position"], kind="stable").reset_index(
        drop=True
    )
    ts = labelled["ts"]
    snapshot = (
        f"ranking_served:{len(labelled)} slots@{ts.min().isoformat()}..{ts.max().isoformat()};"
        f"{window.snapshot}"
    )
    return ServedTrainingSet(labelled, matrix_of(labelled), list(FEATURES), snapshot)
