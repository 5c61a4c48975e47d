"""SIMULATED user sessions for the demo marketplace and for ranking benchmarks.

Nothing produced here was observed from real people. Each simulated user has
hidden preferences (a weight per category and a price sensitivity) and each
asset a hidden appeal; a session shows the user a slate of assets and draws
impressions, clicks (preference x position bias), views after clicks,
favourites, add-to-cart, purchases and skips from those hidden values. Because
the preferences are known, ``true_affinity`` and ``ideal_ranking`` give the
ground truth a ranking benchmark scores against.

Search sessions have an intent: the user types a query (``SimQuery``, chosen
by their category tastes with ``choose_query``) and clicks the assets that
answer it (``SimQuery.relevant``); an asset that does not answer the query
draws only ``Behaviour.off_query_click`` of its usual click chance. That is
what a ranker must learn from the served lists: relevance first, taste second.

The output is deterministic given the seed, the catalog and ``end``: event ids
are derived from the seed and the session number, so recording the same
sessions twice is deduplicated by the event ingest.

Example:
    >>> sim = SessionSimulator(
    ...     [SimAsset("a1", "items", 0.99), SimAsset("a2", "tiles", 2.99)], ["u1"], seed=1)
    >>> session = next(sim.sessions(1))
    >>> session[0]["type"], session[0]["user_id"]
    ('impression', 'u1')
    >>> 0.0 < sim.true_affinity("u1", "a1") < 1.0
    True
    >>> query = SimQuery("coin", frozenset({"a1"}), "items")
    >>> events = sim.session(1, "u1", ["a1", "a2"], DEFAULT_END, query=query)
    >>> events[0]["context"]["query"]
    'coin'
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agora.errors import InvalidInput

# A fixed default end keeps runs reproducible; the demo passes "now".
DEFAULT_END = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SimAsset:
    """What the simulator needs to know about a listing."""

    asset_id: str
    category: str
    price: float

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SimAsset:
        """From an API/service asset view (``id`` or ``asset_id``, ``category``, ``price``)."""
        asset_id = record.get("asset_id") or record.get("id")
        if not asset_id:
            raise InvalidInput("asset record has no id")
        price = record.get("price")
        return cls(
            str(asset_id),
            str(record.get("category") or "uncategorized"),
            float(price) if price not in (None, "") else 0.0,
        )


@dataclass(frozen=True)
class SimQuery:
    """A search intent: the text typed and the assets that answer it."""

    text: str
    relevant: frozenset[str]
    category: str  # where the intent lives, for choosing queries by taste


@dataclass(frozen=True)
class SimUser:
    """A simulated user's hidden state: never sent to the platform."""

    user_id: str
    category_weight: dict[str, float]  # sums to 1 over the catalog's categories
    price_sensitivity: float  # utility lost per currency unit
    activity: float  # relative chance of starting a session


@dataclass(frozen=True)
class Behaviour:
    """Tunable probabilities of the simulated funnel."""

    slate_size: int = 8
    position_decay: float = 0.8  # click bias = 1 / (1 + position) ** decay
    click_scale: float = 0.55  # max click probability at position 0
    favorite_given_view: float = 0.25
    cart_given_view: float = 0.35
    purchase_given_cart: float = 0.55
    skip_given_ignored: float = 0.12
    off_query_click: float = 0.05  # click chance of an asset that misses the query, relative
    seconds_between_events: tuple[float, float] = (2.0, 40.0)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class SessionSimulator:
    """Deterministic stream of simulated shopping sessions over a catalog."""

    def __init__(
        self,
        assets: Sequence[SimAsset],
        users: Sequence[str],
        seed: int = 0,
        *,
        end: datetime = DEFAULT_END,
        span: timedelta = timedelta(days=7),
        behaviour: Behaviour | None = None,
    ) -> None:
        if not assets or not users:
            raise InvalidInput("the simulator needs at least one asset and one user")
        self.assets = list(assets)
        self.seed = seed
        self.end = end
        self.span = span
        self.behaviour = behaviour or Behaviour()
        self._by_id = {a.asset_id: a for a in self.assets}
        categories = sorted({a.category for a in self.assets})
        self.users = {uid: self._hidden_user(uid, categories) for uid in users}
        # Hidden appeal per asset: some listings are simply better than others.
        self.appeal = {
            a.asset_id: random.Random(f"{seed}:asset:{a.asset_id}").gauss(0.0, 0.6)
            for a in self.assets
        }

    def _hidden_user(self, user_id: str, categories: list[str]) -> SimUser:
        # Seeded by the user id, so a user's taste does not depend on catalog order.
        rng = random.Random(f"{self.seed}:user:{user_id}")
        # Gamma(0.5) draws make tastes peaked: most users love one or two categories.
        raw = [rng.gammavariate(0.5, 1.0) + 1e-3 for _ in categories]
        total = sum(raw)
        return SimUser(
            user_id,
            {c: r / total for c, r in zip(categories, raw, strict=True)},
            price_sensitivity=rng.uniform(0.05, 0.5),
            activity=rng.lognormvariate(0.0, 0.8),
        )

    def true_affinity(self, user_id: str, asset_id: str) -> float:
        """Hidden probability-like preference in (0, 1): the ranking ground truth."""
        user = self.users[user_id]
        asset = self._by_id[asset_id]
        share = user.category_weight.get(asset.category, 0.0)
        k = len(user.category_weight)
        utility = (
            math.log(share * k + 1e-3)
            + self.appeal[asset_id]
            - user.price_sensitivity * asset.price
        )
        return _sigmoid(utility - 0.5)

    def ideal_ranking(self, user_id: str, k: int | None = None) -> list[str]:
        """Asset ids by decreasing true affinity (ties by id): the oracle ranking."""
        ranked = sorted(self._by_id, key=lambda a: (-self.true_affinity(user_id, a), a))
        return ranked[:k] if k is not None else ranked

    def position_bias(self, position: int) -> float:
        """Examination probability at a 0-based slate position."""
        return float(1.0 / (1.0 + position) ** self.behaviour.position_decay)

    def choose_query(
        self, user_id: str, queries: Sequence[SimQuery], rng: random.Random
    ) -> SimQuery:
        """A query this user would type: its category drawn by the user's tastes."""
        if not queries:
            raise InvalidInput("no queries to choose from")
        weights = self.users[user_id].category_weight
        picks = [weights.get(q.category, 0.0) + 1e-3 for q in queries]
        return rng.choices(list(queries), picks)[0]

    def session(
        self,
        index: int,
        user_id: str,
        slate: Sequence[str],
        start: datetime,
        *,
        query: SimQuery | None = None,
    ) -> list[dict[str, Any]]:
        """Events of one session showing ``slate`` to ``user_id`` from ``start``.

        Pass a ranker's slate here to simulate feedback on that ranking; with
        ``query`` the slate answers a search and off-query assets are rarely clicked.
        """
        b = self.behaviour
        rng = random.Random(f"{self.seed}:session:{index}")
        session_id = f"sim-{self.seed}-{index:07d}"
        events: list[dict[str, Any]] = []
        clock = start

        context: dict[str, Any] = {"simulated": True}
        if query is not None:
            context["query"] = query.text

        def emit(kind: str, asset_id: str, position: int) -> None:
            nonlocal clock
            # The slate's impressions share the session start; each action takes time.
            if kind != "impression":
                clock += timedelta(seconds=rng.uniform(*b.seconds_between_events))
            events.append(
                {
                    "event_id": f"{session_id}-{len(events):03d}",
                    "user_id": user_id,
                    "asset_id": asset_id,
                    "type": kind,
                    "ts": clock.isoformat(),
                    "session_id": session_id,
                    "context": {"position": position, **context},
                }
            )

        for pos, asset_id in enumerate(slate):
            emit("impression", asset_id, pos)
        for pos, asset_id in enumerate(slate):
            affinity = self.true_affinity(user_id, asset_id)
            answers = query is None or asset_id in query.relevant
            appeal = affinity if answers else affinity * b.off_query_click
            if rng.random() < b.click_scale * appeal * self.position_bias(pos):
                emit("click", asset_id, pos)
                emit("view", asset_id, pos)
                if rng.random() < b.favorite_given_view * affinity:
                    emit("favorite", asset_id, pos)
                if rng.random() < b.cart_given_view * affinity:
                    emit("add_to_cart", asset_id, pos)
                    if rng.random() < b.purchase_given_cart:
                        emit("purchase", asset_id, pos)
            elif rng.random() < b.skip_given_ignored * (1.0 - affinity):
                emit("skip", asset_id, pos)
        return events

    def sessions(self, n: int, *, offset: int = 0) -> Iterator[list[dict[str, Any]]]:
        """``n`` sessions in time order over ``[end - span, end]``, each a list of events.

        Slates are a random sample of the catalog (an unpersonalised feed), so
        the recorded feedback carries position bias but no ranker's bias.
        """
        if n < 0:
            raise InvalidInput("number of sessions must be >= 0")
        rng = random.Random(f"{self.seed}:schedule:{offset}:{n}")
        ids = list(self.users)
        weights = [self.users[u].activity for u in ids]
        span_s = self.span.total_seconds()
        starts = sorted(rng.uniform(0.0, span_s) for _ in range(n))
        size = min(self.behaviour.slate_size, len(self.assets))
        for i, offset_s in enumerate(starts):
            user_id = rng.choices(ids, weights)[0]
            slate = [a.asset_id for a in rng.sample(self.assets, size)]
            start = self.end - self.span + timedelta(seconds=offset_s)
            yield self.session(offset + i, user_id, slate, start)
