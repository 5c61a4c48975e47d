"""The shared catalog view filtering search candidates, and the page check that backs it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update

from agora.eligibility.view import CatalogView, ViewEntry
from agora.search.base import SearchFilters
from agora.search.filters import CatalogFilter, matches
from agora.storage.database import Database
from agora.storage.tables import AssetRow, SellerRow, utcnow


def _seed(db: Database) -> None:
    with db.session() as s:
        s.add_all([SellerRow(id="s1", name="One"), SellerRow(id="s2", name="Two")])
        s.flush()
        for i, (seller, status, price, stock, tags) in enumerate(
            [
                ("s1", "active", 5, None, ["tank", "2D"]),
                ("s1", "active", 50, 0, ["car"]),
                ("s2", "active", 10, 3, ["tank"]),
                ("s2", "pending", 1, 1, []),
            ]
        ):
            s.add(
                AssetRow(
                    id=f"a{i}",
                    seller_id=seller,
                    title=f"Asset {i}",
                    status=status,
                    price=price,
                    stock=stock,
                    creator_tags=tags,
                    images=[{"key": "x"}] * i,
                )
            )


def test_eligible_matches_the_filter_rules() -> None:
    e = ViewEntry("vehicles", 5.0, None, "s1", frozenset({"tank", "2d"}), 1)
    assert matches(e, SearchFilters())
    assert matches(e, SearchFilters(category="vehicles", max_price=5.0, tags=("2D",)))
    assert matches(e, SearchFilters(in_stock=True))  # unknown stock counts as in stock
    assert not matches(e, SearchFilters(in_stock=False))
    assert not matches(e, SearchFilters(min_price=6.0))
    assert not matches(e, SearchFilters(seller_id="s2"))
    assert not matches(e, SearchFilters(tags=("tank", "car")))
    assert not matches(ViewEntry(None, None, 0, "s1", frozenset(), 0), SearchFilters(max_price=9))


def test_snapshot_lists_visible_assets_and_follows_orm_writes(db: Database) -> None:
    _seed(db)
    snap = CatalogView(db, max_age_s=3600)
    catalog = CatalogFilter(db, snap)
    assert set(snap.entries()) == {"a0", "a1", "a2"}  # a3 is pending
    assert catalog.eligible(["a3", "a2", "a0"], SearchFilters(tags=("tank",))) == ["a2", "a0"]
    assert catalog.allowed_ids(SearchFilters(in_stock=True), limit=10) == {"a0": 0, "a2": 2}
    assert catalog.allowed_ids(SearchFilters(in_stock=True), limit=1) is None
    with db.session() as s:  # ORM writes in this process are seen by the next query
        asset = s.get(AssetRow, "a3")
        assert asset is not None
        asset.status = "active"
        seller = s.get(SellerRow, "s1")
        assert seller is not None
        seller.banned = True
    assert set(snap.entries()) == {"a2", "a3"}
    with db.session() as s:  # an ORM bulk update names no row: full reload
        s.execute(update(SellerRow).where(SellerRow.id == "s1").values(banned=False))
    assert set(snap.entries()) == {"a0", "a1", "a2", "a3"}


def test_the_page_check_drops_what_the_snapshot_has_not_seen_yet(db: Database) -> None:
    _seed(db)
    snap = CatalogView(db, max_age_s=3600)
    catalog = CatalogFilter(db, snap)
    assert "a0" in snap.entries()
    # Another process's write (plain SQL, no ORM events here): the snapshot lags...
    with db.engine.begin() as conn:
        conn.execute(
            update(AssetRow.__table__)
            .where(AssetRow.id == "a0")
            .values(status="banned", updated_at=utcnow())
        )
        conn.execute(insert(SellerRow.__table__).values(id="s3", name="Three"))
    assert "a0" in catalog.eligible(["a0", "a2"], SearchFilters())
    # ...but the page read from the catalog never shows it.
    shown: dict[str, Any] = catalog.visible(["a0", "a2"], SearchFilters())
    assert list(shown) == ["a2"]
    assert shown["a2"].price == 10.0
    assert catalog.visible(["a2"], SearchFilters(max_price=9.0)) == {}
    # The periodic refresh reloads what changed since (by updated_at).
    snap._incremental()
    assert set(snap.entries()) == {"a1", "a2"}


def test_the_ids_filter_is_an_allow_list_with_and_without_the_snapshot(db: Database) -> None:
    _seed(db)
    ids = SearchFilters(ids=("a2", "a3", "a0", "nope"))
    for catalog in (CatalogFilter(db, CatalogView(db, max_age_s=3600)), CatalogFilter(db)):
        # Always pre-filtered (even past prefilter_max), visibility still applies: a3 is pending.
        assert catalog.allowed_ids(ids, limit=1) == {"a2": 2, "a0": 0}
        both = SearchFilters(ids=("a0", "a1", "a2"), seller_id="s1")
        assert catalog.allowed_ids(both, limit=10) == {"a0": 0, "a1": 1}
        assert set(catalog.visible(["a0", "a1", "a2", "a3"], ids)) == {"a0", "a2"}
    snap_catalog = CatalogFilter(db, CatalogView(db, max_age_s=3600))
    assert snap_catalog.eligible(["a1", "a2", "a0"], ids) == ["a2", "a0"]


def test_catalog_words_count_visible_titles_and_tags(db: Database) -> None:
    _seed(db)
    words = CatalogFilter(db).words()
    assert words["asset"] == 3  # a3 is pending: not counted
    assert words["tank"] == 2 and words["2d"] == 1 and "pending" not in words
