"""The canary serving log: what is logged, and settlement on both catalog backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from agora.mlops.canary_judge import version_stats
from agora.recommend.base import Recommendations, ScoredItem
from agora.recommend.canary_log import CanaryServingLog, settle_canary_servings
from agora.recommend.tables import CanaryServingRow
from agora.storage.database import Database
from agora.storage.tables import AssetRow, InteractionRow, SellerRow, UserRow

HOUR = timedelta(hours=1)


def _recs(user: str, items: list[tuple[str, str]], **kw: Any) -> Recommendations:
    scored = [ScoredItem(a, 1.0, src) for a, src in items]
    return Recommendations(user, scored, "ease", kw.pop("model", "reco-ease@2"), **kw)


def test_only_canary_groups_model_ranked_assets_and_new_lists_are_logged() -> None:
    # No database: the flush thread must not run during the test.
    log = CanaryServingLog(None, lambda key, user: user != "outsider", flush_every_s=3600)
    ranked = [("a1", "ease"), ("a2", "ease"), ("t9", "trending"), ("p4", "popular")]
    log.served(_recs("u1", ranked))
    log.served(_recs("u1", ranked))  # the same list again (a reload, a cache hit)
    log.served(_recs("u1", [("a3", "ease")]))  # a new list
    log.served(_recs("u1", ranked, model="reco-ease@3"))  # another version's list
    log.served(_recs("outsider", ranked))  # not in a comparison group
    log.served(_recs("u2", ranked, fallback=True, fallback_reason="model_error"))
    log.served(_recs("u3", ranked, personalized=False))
    logged = [(r["user_id"], r["model"], r["items"]) for r in log._buffer]
    assert logged == [
        ("u1", "reco-ease@2", ["a1", "a2"]),  # the padding is no one's impression
        ("u1", "reco-ease@2", ["a3"]),
        ("u1", "reco-ease@3", ["a1", "a2"]),
    ]
    log._buffer.clear()


def _catalog(db: Database) -> None:
    with db.session() as s, s.begin():
        s.add(SellerRow(id="s1", name="Forge"))
        s.add_all([UserRow(id=u) for u in ("u1", "u2")])
        s.flush()  # the rows the assets refer to first
        s.add_all([AssetRow(id=a, seller_id="s1", title=a) for a in ("a1", "a2", "a3")])


def test_settlement_counts_each_list_once_with_its_figures(db: Database) -> None:
    _catalog(db)
    log = CanaryServingLog(db, in_canary=lambda key, user: True)
    log.add("u1", "reco-ease@2", ["a1", "a2"])
    log.add("u2", "reco-ease@3", ["a1", "a3"])
    log.add("u2", "reco-ease@3", ["a1", "a3"])  # a second list of the same assets
    assert log.flush() == 3
    with db.session() as s:
        first = s.scalars(select(CanaryServingRow)).first()
        assert first is not None
        again = {"id": first.id, "user_id": "u1", "model": "reco-ease@2", "items": ["a1"],
                 "served_at": first.served_at, "settled": False}  # fmt: skip
    log._buffer.append(again)  # its commit was reported failed but landed: a duplicate id
    log.add("u1", "reco-ease@2", ["a3"])
    assert log.flush() == 1  # the duplicate skipped, the new list written: not blocked
    with db.session() as s:
        kept = s.get(CanaryServingRow, first.id)
        assert kept is not None and kept.items != ["a1"]  # the first write stands
        extra = [r for r in s.scalars(select(CanaryServingRow)) if r.items == ["a3"]]
        assert len(extra) == 1
        s.delete(extra[0])  # keep the figures below about the first three lists
    served = datetime.now(UTC)
    with db.session() as s, s.begin():
        s.add_all(
            [
                InteractionRow(event_id="e1", user_id="u1", asset_id="a2", type="click",
                               ts=served + timedelta(minutes=5)),
                InteractionRow(event_id="e2", user_id="u1", asset_id="a1", type="view",
                               ts=served + timedelta(minutes=6)),  # a view is no engagement
                InteractionRow(event_id="e3", user_id="u2", asset_id="a3", type="purchase",
                               ts=served + 2 * HOUR),  # after the window
            ]
        )  # fmt: skip
    assert settle_canary_servings(db, now=served)["lists"] == 0  # windows still open
    later = served + HOUR + timedelta(seconds=5)
    # A caller's clock with an offset is the same instant.
    local = later.astimezone(timezone(timedelta(hours=2)))
    assert settle_canary_servings(db, now=local) == {"lists": 3, "clicks": 1, "purged": 0}
    assert settle_canary_servings(db, now=later)["lists"] == 0  # settled once
    v2 = version_stats(db, "reco-ease", "2", None)
    v3 = version_stats(db, "reco-ease", "3", None)
    assert (v2.impressions, v2.clicks, v3.impressions, v3.clicks) == (2, 1, 4, 0)
    week = settle_canary_servings(db, now=later + timedelta(days=8))
    assert week["purged"] == 3
