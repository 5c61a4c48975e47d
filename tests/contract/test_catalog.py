"""Catalog contract: the same behaviour on the SQLite and the PostgreSQL catalog.

Covers assets (create, read, list with filters and cursors, patch, remove),
sellers and users (upsert, ban), interaction events (per-event acceptance,
user creation, idempotent ids), jobs and the pipeline settling an asset.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agora.catalog import Upload
from agora.catalog.listing import AssetFilter
from agora.config import Settings
from agora.errors import Conflict, Forbidden, InvalidInput, NotFound
from agora.runtime import Platform
from agora.storage.job_batches import PARENT_KEY
from agora.storage.tables import InteractionRow
from agora.testing.api import drain_pipeline
from agora.testing.samples import tiny_png


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    overrides: dict[str, object] = {"data_dir": tmp_path / "agora"}
    if request.param == "postgresql":
        overrides["catalog"] = {"url": request.getfixturevalue("pg_url")}
    p = Platform.build(Settings.load(**overrides))
    yield p
    p.close()


@pytest.fixture
def seeded(platform: Platform) -> Platform:
    people = platform.people
    people.upsert_seller("s1", {"name": "Pixel Forge", "trust_score": 0.9, "verified": True}, "t")
    people.upsert_seller("s2", {"name": "Quick Flip"}, "t")
    return platform


def test_create_read_and_settle(seeded: Platform) -> None:
    assets = seeded.assets
    created = assets.create(
        {
            "title": "Tank",
            "seller_id": "s1",
            "price": "4.99",
            "currency": "eur",
            "tags": ["tank", "tank", "vehicle"],
            "geo": {"lat": 48.1, "lon": 11.6},
            "stock": 2,
        },
        [],
        [Upload("tank.png", tiny_png())],
        "t",
    )
    view = assets.get(created.asset_id)
    assert view["status"] == "pending" and view["currency"] == "EUR"
    assert view["tags"] == ["tank", "vehicle"] and view["price"] == 4.99
    assert view["geo"] == {"lat": 48.1, "lon": 11.6}
    assert seeded.jobs.get(created.job_id)["status"] == "queued"
    assert drain_pipeline(seeded) == 1
    assert assets.get(created.asset_id)["status"] == "active"
    job = seeded.jobs.get(created.job_id)
    assert job["status"] == "succeeded" and job["percent"] == 100.0
    assert set(job["result"]["steps"]) >= {"integrity", "completeness"}
    # Redelivery of the same job does nothing more.
    assert drain_pipeline(seeded) == 0


def test_create_rejections(seeded: Platform) -> None:
    assets = seeded.assets
    with pytest.raises(InvalidInput, match="unknown seller"):
        assets.create({"title": "x", "seller_id": "nobody"}, [], [], "t")
    with pytest.raises(InvalidInput, match="invalid metadata"):
        assets.create({"title": "x", "seller_id": "s1", "currency": "EURO"}, [], [], "t")
    assets.create({"id": "fixed-1", "title": "x", "seller_id": "s1"}, [], [], "t")
    with pytest.raises(Conflict):
        assets.create({"id": "fixed-1", "title": "y", "seller_id": "s1"}, [], [], "t")
    seeded.people.upsert_seller("s2", {"banned": True}, "admin")
    with pytest.raises(Forbidden, match="banned"):
        assets.create({"title": "x", "seller_id": "s2"}, [], [], "t")
    with pytest.raises(NotFound):
        assets.get("missing")
    # PostgreSQL cannot store NUL characters: both catalogs refuse them alike.
    with pytest.raises(InvalidInput, match="NUL"):
        assets.create({"title": "a\x00b", "seller_id": "s1"}, [], [], "t")
    with pytest.raises(InvalidInput):
        seeded.people.upsert_user("u\x00", {}, "t")


def test_list_filters_and_cursor(seeded: Platform) -> None:
    assets = seeded.assets
    ids = {
        assets.create(
            {
                "title": f"Coin {i}",
                "seller_id": "s1" if i % 2 else "s2",
                "price": i,
                "category": "items",
                "stock": i % 3,
            },
            [],
            [],
            "t",
        ).asset_id
        for i in range(9)
    }
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = assets.list(AssetFilter(category="items", limit=4, cursor=cursor))
        seen += [a["id"] for a in page]
        if cursor is None:
            break
    assert set(seen) == ids and len(seen) == len(ids)
    page, _ = assets.list(AssetFilter(seller_id="s1", min_price=Decimal(3), limit=50))
    assert page and all(a["seller_id"] == "s1" and a["price"] >= 3 for a in page)
    page, _ = assets.list(AssetFilter(in_stock=False, limit=50))
    assert page and all(a["stock"] == 0 for a in page)
    with pytest.raises(InvalidInput):
        assets.list(AssetFilter(cursor="not-a-cursor"))


def test_update_and_remove(seeded: Platform) -> None:
    assets = seeded.assets
    asset_id = assets.create({"title": "Card", "seller_id": "s1"}, [], [], "t").asset_id
    view = assets.update(asset_id, {"title": "Playing card", "stock": 0}, "t", may_moderate=False)
    assert view["title"] == "Playing card" and view["revision"] == 2
    with pytest.raises(Forbidden):
        assets.update(asset_id, {"status": "banned"}, "t", may_moderate=False)
    banned = assets.update(asset_id, {"status": "banned"}, "m", may_moderate=True)
    assert banned["status"] == "banned"
    assets.remove(asset_id, "t")
    assert assets.get(asset_id)["status"] == "removed"
    with pytest.raises(NotFound):
        assets.remove(asset_id, "t")
    actions = [e.action for e in seeded.audit.query(subject_id=asset_id).entries]
    assert {"asset.created", "asset.updated", "asset.removed"} <= set(actions)


def test_people_upsert(seeded: Platform) -> None:
    people = seeded.people
    user = people.upsert_user("u1", {"region": "EU", "lat": 52.5, "lon": 13.4}, "t")
    assert user["region"] == "EU"
    assert people.upsert_user("u1", {"attributes": {"age": 31}}, "t")["lat"] == 52.5
    assert people.get_seller("s1")["verified"] is True
    assert people.upsert_seller("s1", {"banned": True}, "admin")["banned"] is True
    with pytest.raises(InvalidInput):
        people.upsert_seller("s1", {"trust_score": 2}, "t")
    with pytest.raises(NotFound):
        people.get_user("nobody")


def test_events_acceptance_and_idempotency(seeded: Platform) -> None:
    asset_id = seeded.assets.create({"title": "Coin", "seller_id": "s1"}, [], [], "t").asset_id
    ingest = seeded.event_ingest
    out = ingest.record(
        [
            {"user_id": "fresh", "asset_id": asset_id, "type": "view", "event_id": "e-1"},
            {"user_id": "fresh", "asset_id": "ghost", "type": "view"},
            {"user_id": "fresh", "asset_id": asset_id, "type": "wink"},
            {"user_id": "fresh", "asset_id": asset_id, "type": "purchase", "ts": 1_700_000_000},
            {
                "user_id": "fresh",
                "asset_id": asset_id,
                "type": "click",
                "ts": "2999-01-01T00:00:00Z",
            },
        ],
        "t",
    )
    assert [r["accepted"] for r in out] == [True, False, False, True, False]
    assert seeded.people.get_user("fresh")["id"] == "fresh"
    again = ingest.record(
        [
            {"user_id": "fresh", "asset_id": asset_id, "type": "view", "event_id": "e-1"},
            {"user_id": "fresh", "asset_id": asset_id, "type": "view", "event_id": "e-2"},
        ],
        "t",
    )
    assert again[0]["accepted"] and again[0]["duplicate"] is True
    assert again[1]["accepted"] and "duplicate" not in again[1]
    assert seeded.bus.depth("interaction.recorded", "contract-probe") == 3
    with seeded.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InteractionRow)) == 3


def test_jobs(seeded: Platform) -> None:
    job_id = seeded.jobs.create("import", params={"file": "x.jsonl"})
    seeded.jobs.start(job_id)
    seeded.jobs.progress(job_id, 42.0, "halfway")
    assert seeded.jobs.get(job_id)["percent"] == 42.0
    seeded.jobs.finish(job_id, error="boom")
    assert seeded.jobs.get(job_id)["status"] == "failed"
    assert [j["id"] for j in seeded.jobs.list(kind="import")] == [job_id]
    with pytest.raises(NotFound):
        seeded.jobs.get("missing")


def test_batch_job_counts_each_child_once_under_concurrency(seeded: Platform) -> None:
    """Children end on many threads at once (some twice, as a redelivered job
    is), some before the batch is even submitted: each is counted exactly once."""
    jobs = seeded.jobs
    batch = jobs.create_batch("import", total=13, created_by="t")
    children = [jobs.create("pipeline", params={PARENT_KEY: batch}) for _ in range(10)]
    jobs.finish(children[0])  # before ``submitted``: counted, batch still running
    jobs.cancel(children[1])
    assert jobs.get(batch)["status"] == "running"
    jobs.submitted(batch, accepted=10, rejected=3)
    assert jobs.get(batch)["result"]["processed"] == 2
    rest = children[2:]

    def end(i: int) -> None:
        job_id = rest[i % len(rest)]
        if i % len(rest) == 0:
            jobs.finish(job_id, error="boom")
        else:
            jobs.finish(job_id, result={"ok": True})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(end, range(2 * len(rest))))
    job = jobs.get(batch)
    assert job["result"] == {
        "total": 13,
        "accepted": 10,
        "rejected": 3,
        "processed": 10,
        "failed": 2,  # the cancelled one and the one that failed
    }
    assert (job["status"], job["percent"]) == ("succeeded", 100.0)


def test_event_times_with_an_offset_are_stored_as_the_same_instant(seeded: Platform) -> None:
    """'+02:00' is converted, not dropped: SQLite would keep the wall time otherwise."""
    asset_id = seeded.assets.create({"title": "Gem", "seller_id": "s1"}, [], [], "t").asset_id
    out = seeded.event_ingest.record(
        [
            {"user_id": "tz", "asset_id": asset_id, "type": "view", "event_id": "tz-1",
             "ts": "2026-03-01T12:00:00+02:00"},
            {"user_id": "tz", "asset_id": asset_id, "type": "click", "event_id": "tz-2",
             "ts": "2026-03-01T11:00:00Z"},
        ],
        "t",
    )  # fmt: skip
    assert all(r["accepted"] for r in out)
    edge = seeded.event_ingest.record(
        [
            {
                "user_id": "tz",
                "asset_id": asset_id,
                "type": "view",
                "ts": "0001-01-01T00:00:00+02:00",
            }
        ],
        "t",
    )  # past the calendar's edge in UTC: that event refused, not the batch failed
    assert edge == [{"index": 0, "accepted": False, "error": "ts is out of range"}]
    with seeded.db.session() as s:
        rows = s.scalars(
            select(InteractionRow).where(InteractionRow.user_id == "tz").order_by(InteractionRow.ts)
        ).all()
    stamps = [r.ts if r.ts.tzinfo else r.ts.replace(tzinfo=UTC) for r in rows]
    assert [r.event_id for r in rows] == ["tz-1", "tz-2"]  # 10:00 UTC before 11:00 UTC
    assert stamps[0] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
