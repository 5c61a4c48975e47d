"""Load the demo marketplace through the same catalog services the API uses.

Loading is idempotent: sellers and users are upserts, assets have stable ids
(``demo-<folder>-<name>``) and an asset that already exists is left alone,
and simulated events carry stable ids that the event ingest deduplicates.

Example:
    >>> report = load_demo_catalog(platform.db, platform.assets, platform.people)  # doctest: +SKIP
    >>> report.assets_created  # doctest: +SKIP
    48
    >>> record_simulated_sessions(platform.event_ingest, 100).accepted > 0  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from agora.catalog import Upload
from agora.demo.catalog import DemoAsset, DemoCatalog, build_demo_catalog
from agora.demo.simulator import SessionSimulator, SimAsset
from agora.errors import Conflict
from agora.storage.tables import AssetRow

if TYPE_CHECKING:
    from agora.catalog.assets import AssetService
    from agora.catalog.events import EventIngest
    from agora.catalog.people import PeopleService
    from agora.storage.database import Database

DEMO_ACTOR = "demo"
Progress = Callable[[int], None]


def demo_asset_id(asset: DemoAsset) -> str:
    """Stable catalog id of a demo asset, e.g. ``demo-sprites-items-gemBlue``."""
    return "demo-" + asset.key.replace("/", "-")


@dataclass
class DemoLoadReport:
    """What a load did."""

    sellers: int = 0
    users: int = 0
    assets_created: int = 0
    assets_existing: int = 0
    job_ids: list[str] = field(default_factory=list)


@dataclass
class SimulationReport:
    """Outcome of recording simulated sessions."""

    sessions: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def _upload(path: Path) -> Upload:
    return Upload(name=path.name, data=path.read_bytes())


def load_demo_catalog(
    db: Database,
    assets: AssetService,
    people: PeopleService,
    catalog: DemoCatalog | None = None,
    *,
    actor: str = DEMO_ACTOR,
    on_asset: Progress | None = None,
) -> DemoLoadReport:
    """Upsert the demo sellers and users (``people``), create the demo assets that are
    missing from the catalog ``db`` (through ``assets``)."""
    catalog = catalog or build_demo_catalog()
    report = DemoLoadReport()
    for seller in catalog.sellers:
        people.upsert_seller(seller.seller_id, seller.attrs, actor)
        report.sellers += 1
    for user in catalog.users:
        people.upsert_user(user.user_id, user.attrs, actor)
        report.users += 1
    with db.session() as s:
        existing = set(s.scalars(select(AssetRow.id).where(AssetRow.id.like("demo-%"))))
    for asset in catalog.assets:
        asset_id = demo_asset_id(asset)
        if asset_id in existing:
            report.assets_existing += 1
        else:
            try:
                # Each create has its own upload guard (it counts files per request).
                created = assets.create(
                    asset.metadata | {"id": asset_id},
                    [_upload(p) for p in asset.files],
                    [_upload(p) for p in asset.images],
                    actor,
                )
                report.assets_created += 1
                report.job_ids.append(created.job_id)
            except Conflict:  # created concurrently by another loader
                report.assets_existing += 1
        if on_asset is not None:
            on_asset(1)
    return report


def demo_simulator(
    catalog: DemoCatalog | None = None,
    *,
    seed: int = 7,
    end: datetime | None = None,
    span: timedelta = timedelta(days=7),
) -> SessionSimulator:
    """The simulator over the demo catalog's assets and users (ids as loaded)."""
    catalog = catalog or build_demo_catalog()
    assets = [
        SimAsset(demo_asset_id(a), a.metadata["category"], float(a.metadata["price"]))
        for a in catalog.assets
    ]
    # Stamps end a minute before now: the ingest refuses events from the future.
    end = end or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return SessionSimulator(
        assets, [u.user_id for u in catalog.users], seed=seed, end=end, span=span
    )


def record_simulated_sessions(
    ingest: EventIngest,
    sessions: int,
    *,
    simulator: SessionSimulator | None = None,
    actor: str = DEMO_ACTOR,
    batch_events: int = 2000,
    on_session: Progress | None = None,
) -> SimulationReport:
    """Record ``sessions`` SIMULATED sessions through ``EventIngest`` in batches."""
    sim = simulator or demo_simulator()
    report = SimulationReport()
    batch: list[dict[str, Any]] = []
    done_in_batch = 0

    def flush() -> None:
        nonlocal batch, done_in_batch
        if batch:
            for result in ingest.record(batch, actor):
                if result["accepted"]:
                    report.accepted += 1
                else:
                    report.rejected += 1
                    if len(report.errors) < 20:
                        report.errors.append(str(result.get("error")))
        if on_session is not None and done_in_batch:
            on_session(done_in_batch)
        batch, done_in_batch = [], 0

    for events in sim.sessions(sessions):
        batch.extend(events)
        done_in_batch += 1
        report.sessions += 1
        if len(batch) >= batch_events:
            flush()
    flush()
    return report
