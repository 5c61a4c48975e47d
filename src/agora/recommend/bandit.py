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

from agora.mlops.orchestrator import rowcount
from agora.recommend.tables import BanditArmRow, ServingRow
from agora.storage.database import Database
from agora.storage.tables import InteractionRow

ENGAGEMENT = ("click", "favorite", "add_to_cart", "purchase")
ATTRIBUTION_WINDOW = timedelta(hours=1)


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
            row = s.get(BanditArmRow, (segment, arm))
            if row is None:
                row = BanditArmRow(segment=segment, arm=arm, alpha=1.0, beta=1.0, pulls=0)
                s.add(row)
            row.alpha += reward
            row.beta += 1.0 - reward
            row.pulls += 1

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


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def attribute_rewards(
    bandit: ThompsonBandit, *, now: datetime | None = None, window: timedelta = ATTRIBUTION_WINDOW
) -> dict[str, int]:
    """Settle servings: rewarded on engagement with a served asset within ``window``,
    unrewarded once ``window`` has passed. Returns counts by outcome."""
    now = now or datetime.now(UTC)
    rewarded = expired = 0
    with bandit.db.session() as s:
        pending = s.scalars(select(ServingRow).where(ServingRow.settled.is_(False))).all()
    for serving in pending:
        served_at = _aware(serving.served_at)
        with bandit.db.session() as s:
            hit = s.scalar(
                select(InteractionRow.id)
                .where(
                    InteractionRow.user_id == serving.user_id,
                    InteractionRow.asset_id.in_(serving.items or [""]),
                    InteractionRow.type.in_(ENGAGEMENT),
                    InteractionRow.ts >= served_at,
                    InteractionRow.ts <= served_at + window,
                )
                .limit(1)
            )
        if hit is None and now < served_at + window:
            continue  # still inside the window: the user may yet engage
        reward = 1.0 if hit is not None else 0.0
        with bandit.db.session() as s, s.begin():
            # Conditional: of two workers settling the same serving, one updates it.
            settled = s.execute(
                update(ServingRow)
                .where(ServingRow.id == serving.id, ServingRow.settled.is_(False))
                .values(settled=True, reward=reward)
            )
        if rowcount(settled) != 1:
            continue
        bandit.update(serving.segment, serving.arm, reward)
        rewarded += hit is not None
        expired += hit is None
    return {"rewarded": rewarded, "unrewarded": expired}
