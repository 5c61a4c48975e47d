"""SIMULATED feed traffic through the real ranking service (demo, tests, MLOps drills).

Simulated users (``agora.demo.simulator``, hidden preferences) open their
"For You" feed: ``platform.ranking.feed`` ranks it with whatever versions the
canary router serves them, the served list is logged with its features (the
feature log), and the simulator's clicks, skips and purchases on that exact
slate are recorded as interaction events. Nothing here was observed from real
people. This is the loop the MLOps pipelines learn from: serve -> log ->
label -> train -> gate -> canary.

Ranked searches work the same way (``search``): the simulated user types a
query and clicks the served assets that answer it (``SimQuery.relevant``), so
the feature log teaches the ranking models that relevance to the query counts.

A request can be replayed at a past time (``at``): the list is logged at that
time and its events follow it, so a window of days can be simulated in
seconds.

Example:
    >>> traffic = FeedTraffic(platform.ranking, platform.event_ingest, sim)  # doctest: +SKIP
    >>> ranked, events = traffic.visit("u1", at=datetime.now(UTC))  # doctest: +SKIP
    >>> traffic.flush()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agora.ranking.base import RankedList

if TYPE_CHECKING:
    from agora.catalog.events import EventIngest
    from agora.demo.simulator import SessionSimulator, SimQuery
    from agora.features.consumer import StreamConsumer
    from agora.ranking.service import RankingService

BATCH = 1000


@dataclass
class FeedTraffic:
    """Simulated users visiting their ranked feed; events recorded in batches."""

    ranking: RankingService
    ingest: EventIngest
    sim: SessionSimulator
    n: int = 20
    actor: str = "simulator"
    # Builds the feature store's stream consumer, run after each batch as the workers
    # would (None: events are recorded only).
    stream: Callable[[str], StreamConsumer] | None = None
    batch: int = BATCH
    visits: int = 0
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _consumer: Any = None

    def visit(
        self, user_id: str, *, at: datetime | None = None
    ) -> tuple[RankedList, list[dict[str, Any]]]:
        """One feed request (at ``at``, default now) and the user's reaction to the list."""
        ranked = self.ranking.feed(user_id, n=self.n, now=None if at is None else at.timestamp())
        return ranked, self._react(ranked, user_id, at, None)

    def search(
        self, user_id: str, query: SimQuery, *, at: datetime | None = None
    ) -> tuple[RankedList, list[dict[str, Any]]]:
        """One ranked search for ``query.text`` (at ``at``) and the user's reaction."""
        ranked = self.ranking.search(
            query.text, user_id=user_id, n=self.n, now=None if at is None else at.timestamp()
        )
        return ranked, self._react(ranked, user_id, at, query)

    def _react(
        self, ranked: RankedList, user_id: str, at: datetime | None, query: SimQuery | None
    ) -> list[dict[str, Any]]:
        slate = [i.asset_id for i in ranked.items]
        start = at if at is not None else datetime.now(UTC)
        # Session ids must not collide with the simulator's own sessions.
        events = self.sim.session(50_000_000 + self.visits, user_id, slate, start, query=query)
        self.visits += 1
        self._pending.extend(events)
        if len(self._pending) >= self.batch:
            self.record()
        return events

    def run(self, users: Iterable[tuple[str, datetime | None]]) -> list[RankedList]:
        """Visit for each ``(user, at)``; returns the served lists."""
        served = [self.visit(user, at=at)[0] for user, at in users]
        self.flush()
        return served

    def record(self) -> int:
        """Record the pending events (published on ``interaction.recorded`` too) and,
        with ``stream``, aggregate them into the online store as the workers would."""
        pending, self._pending = self._pending, []
        if pending:
            self.ingest.record(pending, actor=self.actor)
            if self.stream is not None:
                if self._consumer is None:
                    self._consumer = self.stream("traffic")
                self._consumer.drain()
        return len(pending)

    def flush(self) -> None:
        """Record pending events and write queued feature-log rows."""
        self.record()
        self.ranking.feature_log.flush()


__all__ = ["FeedTraffic"]
