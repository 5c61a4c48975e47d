"""SIMULATED searches and feed visits through the real ranking service (the demo).

The demo's users search its catalog by the words of its titles ("tank",
"coin", "alien"; ``demo_queries``), each choosing queries by their hidden
category tastes, and open their feeds. Every request goes through the ranking
service (logged with its features), and the simulator's clicks on
the served list are recorded (``agora.ranking.traffic.FeedTraffic``). A user
clicks what answers the query, rarely what does not: the served-list log the
ranking models train on carries the lesson that relevance comes first.
Nothing here was observed from real people.

Example:
    >>> from agora.demo.catalog import build_demo_catalog
    >>> queries = demo_queries(build_demo_catalog())
    >>> tank = next(q for q in queries if q.text == "tank")
    >>> len(tank.relevant), tank.category
    (6, 'vehicles')
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from agora.demo.catalog import DemoCatalog
from agora.demo.loader import demo_asset_id
from agora.demo.simulator import SessionSimulator, SimQuery

if TYPE_CHECKING:
    from agora.catalog.events import EventIngest
    from agora.config import RankingSettings
    from agora.features.consumer import StreamConsumer
    from agora.ranking.service import RankingService

MAX_MATCHES = 12  # a word that answers more than this is no search intent
_WORD = re.compile(r"[a-z]{3,}")
REPLAY_BUDGET_MS = 60_000.0
SPAN = timedelta(days=7)


@contextmanager
def replay_budgets(settings: RankingSettings) -> Iterator[None]:
    """Lift the ranking deadline and hydration budget while replaying the past.

    A replay records what users do with the ranking, not how fast a busy
    machine serves it: under the live 200 ms deadline a loaded machine would
    log trending fallbacks (no feature vectors) and popularity weights instead
    of the lists the models should learn from.
    """
    saved = (settings.deadline_ms, settings.hydration_budget_ms)
    settings.deadline_ms = max(settings.deadline_ms, REPLAY_BUDGET_MS)
    settings.hydration_budget_ms = max(settings.hydration_budget_ms, REPLAY_BUDGET_MS)
    try:
        yield
    finally:
        settings.deadline_ms, settings.hydration_budget_ms = saved


def demo_queries(catalog: DemoCatalog) -> list[SimQuery]:
    """One query per title word; its relevant assets carry the word in title or tags."""
    words: dict[str, set[str]] = {}
    titles: dict[str, set[str]] = {}
    category: dict[str, str] = {}
    for asset in catalog.assets:
        aid = demo_asset_id(asset)
        title = set(_WORD.findall(asset.metadata["title"].lower()))
        titles[aid] = title
        words[aid] = title | {t.lower() for t in asset.metadata.get("tags", [])}
        category[aid] = asset.metadata["category"]
    queries = []
    for text in sorted(set().union(*titles.values())):
        relevant = frozenset(a for a, w in words.items() if text in w)
        if 0 < len(relevant) <= MAX_MATCHES:
            top = Counter(category[a] for a in relevant).most_common(1)[0][0]
            queries.append(SimQuery(text, relevant, top))
    return queries


@dataclass(frozen=True)
class RankedTrafficDeps:
    """What the replayed traffic goes through (built at the edge, ``agora.cli.demo``)."""

    ranking: RankingService
    ingest: EventIngest
    # The feature store's stream consumer by name, run after each batch as workers would.
    stream: Callable[[str], StreamConsumer]
    # The live ranking settings: their budgets are lifted while the past is replayed.
    settings: RankingSettings


@dataclass
class TrafficReport:
    """What the simulated ranked traffic did."""

    searches: int = 0
    feeds: int = 0
    clicks: int = 0
    purchases: int = 0


def simulate_ranked_traffic(
    deps: RankedTrafficDeps,
    sim: SessionSimulator,
    queries: list[SimQuery],
    *,
    searches: int,
    feeds: int,
    seed: int = 7,
    end: datetime | None = None,
    span: timedelta = SPAN,
    on_visit: Callable[[int], None] | None = None,
) -> TrafficReport:
    """``searches`` ranked searches and ``feeds`` feed visits at times spread over
    ``[end - span, end]`` (replayed in time order), with the users' reactions."""
    from agora.ranking.traffic import FeedTraffic

    rng = random.Random(f"{seed}:ranked-traffic")
    # Half an hour before now: a session's last events must not lie in the future.
    end = end or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    users = list(sim.users)
    weights = [sim.users[u].activity for u in users]
    kinds = ["search"] * searches + ["feed"] * feeds
    offsets = sorted(rng.uniform(0.0, span.total_seconds()) for _ in kinds)
    rng.shuffle(kinds)
    traffic = FeedTraffic(deps.ranking, deps.ingest, sim, actor="demo", stream=deps.stream)
    report = TrafficReport()
    with replay_budgets(deps.settings):
        for kind, offset in zip(kinds, offsets, strict=True):
            user = rng.choices(users, weights)[0]
            at = end - span + timedelta(seconds=offset)
            if kind == "search":
                _, events = traffic.search(user, sim.choose_query(user, queries, rng), at=at)
                report.searches += 1
            else:
                _, events = traffic.visit(user, at=at)
                report.feeds += 1
            report.clicks += sum(e["type"] == "click" for e in events)
            report.purchases += sum(e["type"] == "purchase" for e in events)
            if on_visit is not None:
                on_visit(1)
    traffic.flush()
    return report
