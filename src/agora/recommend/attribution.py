"""Engagement with served lists: which events count, within what window, read in bulk.

Shared by the bandit's rewards (:func:`agora.recommend.bandit.attribute_rewards`)
and the canary's online CTR (:func:`agora.recommend.canary_log.settle_canary_servings`):
a served asset is engaged with when its user clicks, favourites, adds it to
the cart or buys it within ``ATTRIBUTION_WINDOW`` of the serving.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from agora.storage.database import Database
from agora.storage.tables import InteractionRow, stored_utc

ENGAGEMENT = ("click", "favorite", "add_to_cart", "purchase")
ATTRIBUTION_WINDOW = timedelta(hours=1)


def engagements(
    db: Database, pending: Sequence[Any], window: timedelta, chunk: int = 500
) -> dict[str, list[tuple[str, datetime]]]:
    """Engagement events (asset, time) per user over the windows of ``pending`` servings
    (rows with ``user_id`` and ``served_at``): one query per ``chunk`` users."""
    lo = min(stored_utc(r.served_at) for r in pending)
    hi = max(stored_utc(r.served_at) for r in pending) + window
    users = sorted({r.user_id for r in pending})
    out: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    with db.session() as s:
        for k in range(0, len(users), chunk):
            rows = s.execute(
                select(InteractionRow.user_id, InteractionRow.asset_id, InteractionRow.ts).where(
                    InteractionRow.user_id.in_(users[k : k + chunk]),
                    InteractionRow.type.in_(ENGAGEMENT),
                    InteractionRow.ts >= lo,
                    InteractionRow.ts <= hi,
                )
            )
            for user, asset, ts in rows:
                out[user].append((asset, stored_utc(ts)))
    return out
