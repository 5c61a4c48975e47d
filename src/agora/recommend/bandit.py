"""Thompson sampling over recommendation algorithms, per user segment (``algorithm=smart``).

Each (segment, algorithm) arm keeps a Beta(alpha, beta) posterior of its
engagement rate, stored in ``reco_bandit_arms`` so every API process and
restart shares it. A serving chosen by the bandit is logged in
``reco_servings``; :func:`attribute_rewards` settles it: reward 1 when the user
clicked, favourited, added to cart or purchased one of the served assets
within the attribution window (one hour), reward 0 once the window has passed
without one.

Example:
    >>> import random
    >>> rng = random.Random(0)
    >>> posteriors = {"ease": (30.0, 70.0), "trending": (5.0, 95.0)}
    >>> sample_arm(posteriors, rng)
    'ease'
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agora.recommend.attribution import ATTRIBUTION_WINDOW, engagements
from agora.recommend.tables import BanditArmRow, ServingRow
from agora.storage.database import Database, rowcount
from agora.storage.tables import stored_utc


def sample_arm(posteriors: Mapping[str, tuple[float, float]], rng: random.Random) -> str:
    """The arm whose Beta sample is highest."""
    return max(posteriors, key=lambda arm: rng.betavariate(*posteriors[arm]))


def segment_of(n_events: int) -> str:
    """Activity segment: each learns its own best algorithm (cold users favour trending)."""
    if n_events == 0:
        return "new"
    return "casual" if n_events < 10 else "engaged"


class ThompsonBandit:
    """Persisted Beta-Bernoulli bandit."""

    def __init__(self, db: Database, *, rng: random.Random | None = None) -> None:
        self.db = db
        self.rng = rng or random.Random()

    def posteriors(self, segment: str, arms: Sequence[str]) -> dict[str, tuple[float, float]]:
        """Beta parameters of ``arms`` in ``segment`` (uniform prior for new arms)."""
        with self.db.session() as s:
            rows = s.scalars(
                select(BanditArmRow).where(
                    BanditArmRow.segment == segment, BanditArmRow.arm.in_(arms)
                )
            ).all()
        known = {r.arm: (r.alpha, r.beta) for r in rows}
        return {a: known.get(a, (1.0, 1.0)) for a in arms}

    def choose(self, segment: str, arms: Sequence[str]) -> str:
        """Thompson draw among ``arms`` for ``segment``."""
        if not arms:
            raise ValueError("no arms to choose from")
        return sample_arm(self.posteriors(segment, arms), self.rng)

    def update(self, segment: str, arm: str, reward: float) -> None:
        """Add one observation with ``reward`` in [0, 1]."""
        reward = min(max(reward, 0.0), 1.0)
        with self.db.session() as s, s.begin():
            add_observations(s, segment, arm, reward, 1.0 - reward, 1)

    def record_serving(
        self,
        user_id: str,
        segment: str,
        arm: str,
        items: Sequence[str],
        *,
        now: datetime | None = None,
    ) -> str:
        """Log a bandit-chosen list for later reward attribution; returns its id."""
        sid = uuid.uuid4().hex
        with self.db.session() as s, s.begin():
            s.add(
                ServingRow(
                    id=sid,
                    user_id=user_id,
                    segment=segment,
                    arm=arm,
                    items=list(items),
                    served_at=now or datetime.now(UTC),
                    settled=False,
                )
            )
        return sid


def add_observations(
    session: Session, segment: str, arm: str, rewards: float, misses: float, pulls: int
) -> None:
    """Add to an arm's Beta posterior in ``session``'s transaction.

    The increments are done by the database (``alpha = alpha + ...``), so two
    workers adding at once never lose one another's (a read-modify-write did).
    """
    key = (segment, arm)
    if session.get(BanditArmRow, key) is None:
        session.add(BanditArmRow(segment=segment, arm=arm, alpha=1.0, beta=1.0, pulls=0))
        session.flush()
    session.execute(
        update(BanditArmRow)
        .where(BanditArmRow.segment == segment, BanditArmRow.arm == arm)
        .values(
            alpha=BanditArmRow.alpha + rewards,
            beta=BanditArmRow.beta + misses,
            pulls=BanditArmRow.pulls + pulls,
        )
        .execution_options(synchronize_session=False)
    )


def attribute_rewards(
    bandit: ThompsonBandit,
    *,
    now: datetime | None = None,
    window: timedelta = ATTRIBUTION_WINDOW,
    limit: int = 10_000,
) -> dict[str, int]:
    """Settle servings: rewarded on engagement with a served asset within ``window``,
    unrewarded once ``window`` has passed. Returns counts by outcome.

    Up to ``limit`` pending servings per call, their engagement read in a few
    queries; each serving is settled by a conditional update (of two workers,
    one counts it) in the transaction that adds the arms' observations.
    """
    now = stored_utc(now or datetime.now(UTC)).astimezone(UTC)
    with bandit.db.session() as s:
        pending = s.execute(
            select(
                ServingRow.id,
                ServingRow.user_id,
                ServingRow.segment,
                ServingRow.arm,
                ServingRow.items,
                ServingRow.served_at,
            )
            .where(ServingRow.settled.is_(False))
            .order_by(ServingRow.served_at)
            .limit(limit)
        ).all()
    if not pending:
        return {"rewarded": 0, "unrewarded": 0}
    engaged = engagements(bandit.db, pending, window)
    totals: dict[tuple[str, str], tuple[float, float, int]] = {}
    rewarded = expired = 0
    with bandit.db.session() as s, s.begin():
        for serving in pending:
            start, items = stored_utc(serving.served_at), set(serving.items or [])
            hit = any(
                a in items and start <= ts <= start + window
                for a, ts in engaged.get(serving.user_id, ())
            )
            if not hit and now < start + window:
                continue  # still inside the window: the user may yet engage
            settled = s.execute(
                update(ServingRow)
                .where(ServingRow.id == serving.id, ServingRow.settled.is_(False))
                .values(settled=True, reward=1.0 if hit else 0.0)
            )
            if rowcount(settled) != 1:
                continue  # another worker settled it
            key = (serving.segment, serving.arm)
            won, lost, pulls = totals.get(key, (0.0, 0.0, 0))
            totals[key] = (won + hit, lost + (not hit), pulls + 1)
            rewarded += hit
            expired += not hit
        for (segment, arm), (won, lost, pulls) in totals.items():
            add_observations(s, segment, arm, won, lost, pulls)
    return {"rewarded": rewarded, "unrewarded": expired}
