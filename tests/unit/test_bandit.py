"""Thompson-sampling bandit: shifts traffic to the better arm; rewards attributed within an hour."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agora.recommend.bandit import ThompsonBandit, attribute_rewards, segment_of
from agora.storage import migrate
from agora.storage.database import Database
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow


def _db(tmp_path: Path) -> Database:
    db = Database.open(f"sqlite:///{tmp_path / 'c.db'}")
    migrate.upgrade(db)
    return db


def test_bandit_shifts_traffic_to_the_better_arm(tmp_path: Path) -> None:
    db = _db(tmp_path)
    bandit = ThompsonBandit(db, rng=random.Random(3))
    truth = {"ease": 0.30, "als": 0.20, "trending": 0.05}  # simulated engagement rates
    users = random.Random(4)
    picks: list[str] = []
    for _ in range(600):
        arm = bandit.choose("engaged", list(truth))
        picks.append(arm)
        bandit.update("engaged", arm, 1.0 if users.random() < truth[arm] else 0.0)
    late = picks[-200:]
    assert late.count("ease") / len(late) > 0.6
    assert picks[:100].count("ease") < late.count("ease")
    # Persisted: a new bandit on the same database sees the same posteriors.
    post = ThompsonBandit(db).posteriors("engaged", list(truth))
    assert post["ease"][0] / sum(post["ease"]) > post["trending"][0] / sum(post["trending"])
    # Segments are independent.
    assert ThompsonBandit(db).posteriors("new", ["ease"]) == {"ease": (1.0, 1.0)}
    db.dispose()


def test_rewards_attributed_within_an_hour(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.session() as s, s.begin():
        s.add(SellerRow(id="s"))
        s.add(UserRow(id="u"))
        s.flush()
        for a in ("a1", "a2", "a3"):
            s.add(AssetRow(id=a, seller_id="s", title=a, status="active"))
    bandit = ThompsonBandit(db)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    bandit.record_serving("u", "casual", "ease", ["a1", "a2"], now=t0)
    bandit.record_serving("u", "casual", "als", ["a3"], now=t0)
    with db.session() as s, s.begin():
        s.add(
            InteractionRow(
                event_id="e1",
                user_id="u",
                asset_id="a2",
                type="click",
                ts=t0 + timedelta(minutes=20),
            )
        )
        # Too late for the als serving: outside the hour.
        s.add(
            InteractionRow(
                event_id="e2",
                user_id="u",
                asset_id="a3",
                type="purchase",
                ts=t0 + timedelta(hours=2),
            )
        )
    # Half an hour in: the click settles ease, als may still be rewarded.
    assert attribute_rewards(bandit, now=t0 + timedelta(minutes=30)) == {
        "rewarded": 1,
        "unrewarded": 0,
    }
    assert attribute_rewards(bandit, now=t0 + timedelta(hours=3)) == {
        "rewarded": 0,
        "unrewarded": 1,
    }
    post = bandit.posteriors("casual", ["ease", "als"])
    assert post == {"ease": (2.0, 1.0), "als": (1.0, 2.0)}
    db.dispose()


def test_segments() -> None:
    assert [segment_of(n) for n in (0, 3, 50)] == ["new", "casual", "engaged"]


def test_settlement_adds_each_arms_observations_once_on_both_backends(db: Database) -> None:
    with db.session() as s, s.begin():
        s.add(SellerRow(id="s"))
        s.add_all([UserRow(id=u) for u in ("u1", "u2")])
        s.flush()
        s.add_all([AssetRow(id=a, seller_id="s", title=a, status="active") for a in ("a1", "a2")])
    bandit = ThompsonBandit(db)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for user in ("u1", "u2"):
        bandit.record_serving(user, "engaged", "hybrid", ["a1"], now=t0)
        bandit.record_serving(user, "engaged", "ease", ["a2"], now=t0)
    with db.session() as s, s.begin():
        s.add(InteractionRow(event_id="c1", user_id="u1", asset_id="a1", type="click",
                             ts=t0 + timedelta(minutes=3)))  # fmt: skip
    later = t0 + timedelta(hours=2)
    assert attribute_rewards(bandit, now=later) == {"rewarded": 1, "unrewarded": 3}
    assert attribute_rewards(bandit, now=later) == {"rewarded": 0, "unrewarded": 0}
    bandit.update("engaged", "ease", 1.0)  # the same increments, one at a time
    post = bandit.posteriors("engaged", ["hybrid", "ease"])
    assert post == {"hybrid": (2.0, 2.0), "ease": (2.0, 3.0)}
