"""Resumable imports: the same behaviour on the SQLite and the PostgreSQL catalog
(open, add, resume, concurrent first requests, deferred completion, report)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agora.bus.base import Topics
from agora.catalog.import_sessions import ImportItem, derived_asset_id
from agora.catalog.import_sources import record_item
from agora.config import Settings
from agora.errors import Conflict, NotFound, Overloaded
from agora.pipeline.runner import PIPELINE_GROUP
from agora.runtime import Platform
from agora.storage.tables import AssetRow
from agora.testing.api import drain_pipeline


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    overrides: dict[str, object] = {
        "data_dir": tmp_path / "agora",
        "uploads": {"import_max_backlog": 2},
    }
    if request.param == "postgresql":
        overrides["catalog"] = {"url": request.getfixturevalue("pg_url")}
    p = Platform.build(Settings.load(**overrides))
    p.people.upsert_seller("s1", {"name": "Pixel Forge"}, "t")
    yield p
    p.close()


def _items(start: int, n: int) -> list[ImportItem]:
    return [
        record_item(i, {"title": f"Coin {i}", "seller_id": "s1"}) for i in range(start, start + n)
    ]


def _assets(platform: Platform) -> int:
    with platform.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AssetRow)) or 0)


def test_resume_skips_accepted_and_retries_rejected(platform: Platform) -> None:
    sessions = platform.import_sessions()
    assert sessions.open("imp", "k1", defer=False) is False
    ghost = record_item(3, {"title": "Ghost", "seller_id": "s2"})
    out = sessions.add("imp", [*_items(1, 2), ghost], "k1", deferred=False)
    assert (out.accepted, out.rejected) == (2, 1)
    assert "unknown seller" in out.rejections[0]["error"]
    platform.people.upsert_seller("s2", {"name": "Late"}, "t")
    again = sessions.add("imp", [*_items(1, 2), ghost], "k1", deferred=False)
    assert (again.accepted, again.rejected, again.skipped) == (1, 0, 2)
    assert platform.assets.get(derived_asset_id("imp", 3))["title"] == "Ghost"
    status = sessions.complete("imp", "k1")
    assert (status["accepted"], status["rejected"], status["rejections"]) == (3, 0, [])
    assert drain_pipeline(platform) == 3
    assert sessions.status("imp")["status"] == "succeeded"
    with pytest.raises(Conflict):
        sessions.open("imp", "k1", defer=False)
    with pytest.raises(NotFound):
        sessions.status("nope")


def test_concurrent_first_requests_share_one_import(platform: Platform) -> None:
    sessions = platform.import_sessions()
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: sessions.open("race", "k1", defer=False), range(4)))
    assert opened == [False] * 4
    with pytest.raises(Conflict):
        sessions.open("race", "someone-else", defer=False)


def test_backlog_bound_and_deferred_publication(platform: Platform) -> None:
    sessions = platform.import_sessions()
    sessions.open("now", "k1", defer=False)
    sessions.add("now", _items(1, 3), "k1", deferred=False)
    with pytest.raises(Overloaded) as refused:
        sessions.admit(deferred=False)
    assert refused.value.extra["backlog"] == 3
    sessions.admit(deferred=True)  # a deferred import adds no work until complete
    assert drain_pipeline(platform) == 3
    assert sessions.open("held", "k1", defer=True) is True
    sessions.add("held", _items(1, 3), "k1", deferred=True)
    assert platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) == 0
    sessions.complete("held", "k1")
    sessions.complete("held", "k1")
    assert platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP) == 3
    assert drain_pipeline(platform) == 3
    assert sessions.status("held")["processed"] == 3
    assert _assets(platform) == 6


def test_one_chunk_refuses_each_bad_item_alone(platform: Platform) -> None:
    platform.people.upsert_seller("banned", {"name": "Gone", "banned": True}, "t")
    platform.assets.create({"id": "taken", "title": "Old", "seller_id": "s1"}, [], [], "t")
    sessions = platform.import_sessions()
    sessions.open("mixed", "k1", defer=False)
    items = [
        record_item(1, {"id": "dup", "title": "First", "seller_id": "s1"}),
        record_item(2, {"id": "dup", "title": "Second", "seller_id": "s1"}),
        record_item(3, {"title": "Banned", "seller_id": "banned"}),
        record_item(4, {"id": "taken", "title": "Clash", "seller_id": "s1"}),
        record_item(5, {"title": "Fine", "seller_id": "s1"}),
    ]
    out = sessions.add("mixed", items, "k1", deferred=False)
    assert (out.accepted, out.rejected) == (2, 3)
    assert [(r["line"], r["status"]) for r in out.rejections] == [(2, 409), (3, 403), (4, 409)]
    assert platform.assets.get("dup")["title"] == "First"
    assert platform.assets.get("taken")["title"] == "Old"
    # Every created asset is audited, in the same chain as single creates.
    assert platform.audit.verify().ok
