"""A small seeded marketplace for recommendation tests (and plugin authors' tests).

Six sellers, 36 active assets in three categories, 40 users each loyal to one
category, seven interactions per user over the 40 hours before ``now``.

Example:
    >>> seed_catalog(platform.db, datetime.now(UTC))  # doctest: +SKIP
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from agora.storage.database import Database
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow

CATEGORIES = ("props", "textures", "audio")


def seed_catalog(db: Database, now: datetime) -> None:
    """Write the seeded sellers, assets, users and interactions (deterministic)."""
    rng = random.Random(7)
    with db.session() as s, s.begin():
        for k in range(6):
            s.add(SellerRow(id=f"s{k}", name=f"seller {k}"))
        s.flush()
        for j in range(36):
            s.add(
                AssetRow(
                    id=f"a{j}",
                    seller_id=f"s{j % 6}",
                    title=f"asset {j}",
                    category=CATEGORIES[j % 3],
                    status="active",
                    stock=None,
                )
            )
        for u in range(40):
            s.add(UserRow(id=f"u{u}", region="eu" if u % 2 else "us"))
        s.flush()
        n = 0
        for u in range(40):
            liked = [j for j in range(36) if j % 3 == u % 3]  # one category per user
            for j in rng.sample(liked, 7):
                etype = rng.choice(["view", "view", "favorite", "purchase"])
                ts = now - timedelta(hours=rng.uniform(1, 40))
                s.add(
                    InteractionRow(
                        event_id=f"e{n}", user_id=f"u{u}", asset_id=f"a{j}", type=etype, ts=ts
                    )
                )
                n += 1
