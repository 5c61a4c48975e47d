"""Train the ranking models from the feature log (point-in-time correct by construction).

Served organic slots carry the exact feature vectors the scorer saw; clicks and
purchases within the attribution window label them (``label_impressions``).
pCTR, pCVR and the LambdaMART ranker (one group per served list) are fitted on
all those rows and saved to the model store, ungated: a quick local fit that
only bootstraps a platform with no ranking champion (tests, notebooks); once a
champion exists it refuses. Every retrain comes from the MLOps pipelines on
the same rows and feature list (``agora.mlops.training.ctr``/``ranker``:
holdout, early stopping, gate, canary), which ``agora rank train``, the
scheduler's retraining trigger and ``POST /api/v1/pipelines/train.*`` run.

Example:
    >>> refs = train_from_log(platform.db, platform.models)  # doctest: +SKIP
    >>> sorted(refs)  # doctest: +SKIP
    ['pctr', 'pcvr', 'ranker']
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from agora.domain import ModelRef
from agora.errors import InvalidInput
from agora.ranking.feature_log import FeatureLog, matrix_of
from agora.ranking.hydration import FEATURES
from agora.ranking.models import PCTR_MODEL, PCVR_MODEL, RANKER_MODEL, CtrModel, LambdaRanker
from agora.storage.tables import InteractionRow

if TYPE_CHECKING:
    from agora.mlops.base import ModelStore
    from agora.storage.database import Database

MIN_ROWS = 200


def train_from_log(
    db: Database,
    models: ModelStore,
    *,
    since: datetime | None = None,
    min_rows: int = MIN_ROWS,
) -> dict[str, ModelRef]:
    """Fit and save pCTR, pCVR (when any purchase was logged) and the ranker from the
    feature log in ``db`` into ``models``, while none of them has a champion
    (``InvalidInput`` after: use the gated pipelines)."""
    from agora.mlops.registry import ModelRegistry
    from agora.mlops.training.pipeline import require_no_champion

    names = [PCTR_MODEL, PCVR_MODEL, RANKER_MODEL]
    require_no_champion(ModelRegistry(models, db), names, "train.ctr/train.ranker")
    log = FeatureLog(db)
    with db.session() as s:
        q = select(
            InteractionRow.user_id, InteractionRow.asset_id, InteractionRow.type, InteractionRow.ts
        ).where(InteractionRow.type.in_(["click", "skip", "purchase"]))
        if since is not None:
            q = q.where(InteractionRow.ts >= since)
        events = [
            {"user_id": u, "asset_id": a, "type": t, "ts": ts} for u, a, t, ts in s.execute(q)
        ]
    frame = log.training_frame(events, since=since)
    if len(frame):  # only rows served with the current feature schema
        frame = frame[frame["feature_names"].map(lambda n: list(n) == FEATURES)]
    if len(frame) < min_rows:
        raise InvalidInput(f"only {len(frame)} logged impressions; need {min_rows} to train")
    frame = frame.sort_values(["request_id", "position"], kind="stable")
    x = matrix_of(frame)
    clicked = frame["clicked"].to_numpy()
    bought = frame["purchased"].to_numpy()
    snapshot = f"ranking_served@{frame['ts'].max().isoformat()}"
    metrics = {"rows": float(len(frame)), "ctr": float(clicked.mean())}
    refs = {
        "pctr": CtrModel()
        .fit(x, clicked, feature_names=FEATURES)
        .save(models, metrics=metrics, data_snapshot=snapshot)
    }
    if bought.any():
        refs["pcvr"] = (
            CtrModel(name=PCVR_MODEL)
            .fit(x, bought, feature_names=FEATURES)
            .save(models, metrics=metrics, data_snapshot=snapshot)
        )
    groups = frame.groupby("request_id", sort=False).size().to_numpy()
    if clicked.any():
        refs["ranker"] = (
            LambdaRanker()
            .fit(x, clicked, group=np.asarray(groups), feature_names=FEATURES)
            .save(models, metrics=metrics, data_snapshot=snapshot)
        )
    return refs
