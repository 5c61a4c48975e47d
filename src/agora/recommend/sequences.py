"""Time-ordered histories from the catalog, and fitting the PyTorch recommenders on them.

The sequential ``transformer`` learns from each user's interactions in time
order (ties in time broken by asset id, so the order is reproducible); the
matrix it is fitted with stays the decay-weighted one every other model uses.
:func:`fit_neural_models` is what the bootstrap job (``agora.recommend.jobs.
train``) and the gated ``train.recommender`` pipeline both call.

Example:
    >>> ordered_histories([("u1", "a2", 5.0), ("u1", "a1", 5.0), ("u1", "a3", 1.0)])
    {'u1': ['a3', 'a1', 'a2']}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
from sqlalchemy import select

from agora.recommend.base import InteractionMatrix, Recommender
from agora.recommend.registry import neural_models
from agora.storage.database import Database
from agora.storage.tables import InteractionRow, stored_utc


def ordered_histories(events: Iterable[tuple[str, str, float]]) -> dict[str, list[str]]:
    """user -> assets in time order from ``(user, asset, epoch seconds)``; ties by asset id.

    An asset engaged with several times is placed at its last engagement.
    """
    last: dict[str, dict[str, float]] = defaultdict(dict)
    for user, asset, ts in events:
        seen = last[user]
        seen[asset] = max(ts, seen.get(asset, ts))
    return {u: sorted(items, key=lambda a: (items[a], a)) for u, items in last.items()}


def catalog_histories(
    db: Database,
    types: Iterable[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, list[str]]:
    """Every user's engaged assets (event ``types``) in ``[since, until)``, oldest first."""
    stmt = select(InteractionRow.user_id, InteractionRow.asset_id, InteractionRow.ts).where(
        InteractionRow.type.in_(list(types))
    )
    if since is not None:
        stmt = stmt.where(InteractionRow.ts >= since)
    if until is not None:
        stmt = stmt.where(InteractionRow.ts < until)
    with db.session() as s:
        rows = s.execute(stmt).all()
    return ordered_histories((u, a, stored_utc(ts).timestamp()) for u, a, ts in rows)


def fit_neural_models(
    data: InteractionMatrix,
    sequences: Mapping[str, list[str]],
    embeddings: Mapping[str, np.ndarray] | None = None,
) -> list[Recommender]:
    """The ``transformer`` (on ``sequences``, item table from ``embeddings``), ``neural_cf``
    and ``graph``, fitted on ``data``."""
    from agora.recommend.sasrec import TransformerRecommender  # torch: only where one trains

    fitted: list[Recommender] = []
    for model in neural_models().values():
        if isinstance(model, TransformerRecommender):
            model.fit(data, sequences=sequences, embeddings=embeddings)
        else:
            model.fit(data)
        fitted.append(model)
    return fitted
