"""One eligibility definition: its SQL, Python, numpy and view forms agree.

Random catalogs (assets of random status, stock, category and seller, sellers
randomly banned, admin bans of random assets, sellers and categories) and
random viewers (consent to personalisation, purchases) are written to the
catalog database, SQLite and PostgreSQL; every form of the rules must name the
same assets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from agora.eligibility.rules import (
    CATALOG,
    LISTS,
    SEARCH,
    Bans,
    Context,
    Listing,
    Viewer,
    listed,
    shown,
    shown_select,
)
from agora.eligibility.view import CatalogView
from agora.storage.database import Database
from agora.storage.tables import (
    AssetRow,
    ConsentRow,
    InteractionRow,
    SellerRow,
    UserRow,
)

STATUSES = ("active", "pending", "flagged", "banned", "removed")
CATEGORIES = (None, "art", "audio", "weapons")
SELLERS = ("s0", "s1", "s2")
USERS = ("u0", "u1")
NOW = datetime(2026, 1, 1, tzinfo=UTC)

asset = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        "stock": st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
        "seller_id": st.sampled_from(SELLERS),
        "category": st.sampled_from(CATEGORIES),
    }
)
catalogs = st.fixed_dictionaries(
    {
        "assets": st.lists(asset, min_size=1, max_size=12),
        "banned_sellers": st.sets(st.sampled_from(SELLERS)),
        # user -> allows_personalization (None: never set consent, the default allows it)
        "consent": st.fixed_dictionaries({u: st.sampled_from([None, True, False]) for u in USERS}),
        # (user, asset index) purchases
        "purchases": st.sets(
            st.tuples(st.sampled_from(USERS), st.integers(min_value=0, max_value=11)), max_size=6
        ),
        "bans": st.fixed_dictionaries(
            {
                "assets": st.sets(st.integers(min_value=0, max_value=11), max_size=2),
                "sellers": st.sets(st.sampled_from(SELLERS), max_size=1),
                "categories": st.sets(st.sampled_from(CATEGORIES[1:]), max_size=2),
            }
        ),
        "policy": st.sampled_from([SEARCH, LISTS]),
        "viewer": st.sampled_from([None, *USERS]),
    }
)


def _write(db: Database, cat: dict[str, Any]) -> list[Listing]:
    """Replace the catalog with ``cat``; the listings as the rules read them."""
    with db.session() as s, s.begin():
        for table in (InteractionRow, ConsentRow, AssetRow, UserRow, SellerRow):
            s.execute(delete(table))
    banned = cat["banned_sellers"]
    listings = [
        Listing(f"a{i}", a["status"], a["stock"], a["seller_id"], a["seller_id"] in banned,
                a["category"])
        for i, a in enumerate(cat["assets"])
    ]  # fmt: skip
    with db.session() as s, s.begin():
        s.add_all(SellerRow(id=x, name=x, banned=x in banned) for x in SELLERS)
        s.add_all(UserRow(id=u) for u in USERS)
        s.flush()
        s.add_all(
            AssetRow(id=li.asset_id, seller_id=li.seller_id, title=li.asset_id,
                     status=li.status, stock=li.stock, category=li.category)
            for li in listings
        )  # fmt: skip
        s.flush()
        for u, allowed in cat["consent"].items():
            if allowed is not None:
                s.add(ConsentRow(user_id=u, allows_personalization=allowed))
        for n, (u, i) in enumerate(sorted(cat["purchases"])):
            if i < len(listings):
                s.add(InteractionRow(event_id=f"e{n}", user_id=u, asset_id=f"a{i}",
                                     type="purchase", ts=NOW))  # fmt: skip
    return listings


def _context(cat: dict[str, Any], n: int) -> tuple[Context, Context]:
    """(the in-memory context with the viewer as a caller builds it, the same
    question for SQL, which reads consent and purchases from the catalog)."""
    b = cat["bans"]
    bans = Bans(
        assets=frozenset(f"a{i}" for i in b["assets"]),
        sellers=frozenset(b["sellers"]),
        categories=frozenset(b["categories"]),
    )
    user = cat["viewer"]
    if user is None:
        return Context(cat["policy"], bans), Context(cat["policy"], bans)
    allowed = cat["consent"][user] is not False
    bought = frozenset(f"a{i}" for u, i in cat["purchases"] if u == user and i < n)
    memory = Context(cat["policy"], bans, Viewer(user, allowed, bought))
    return memory, Context(cat["policy"], bans, Viewer(user))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cat=catalogs)
def test_sql_python_numpy_and_view_forms_agree(db: Database, cat: dict[str, Any]) -> None:
    """On SQLite and PostgreSQL (the ``db`` fixture), emptied for each example."""
    catalog_db = db
    listings = _write(catalog_db, cat)
    memory, sql = _context(cat, len(listings))
    python = {li.asset_id for li in listings if shown(li, memory)}
    with catalog_db.session() as s:
        in_sql = set(s.scalars(shown_select(sql, AssetRow.id)))
    assert in_sql == python

    # The in-process view holds what passes the catalog rules (loaded by their
    # SQL form) and checks the rest in memory.
    view = CatalogView(catalog_db, max_age_s=3600)
    assert set(view.entries()) == {li.asset_id for li in listings if shown(li, CATALOG)}
    assert set(view.shown([li.asset_id for li in listings], memory)) == python

    # numpy: the ranking snapshot's column and the override mask.
    col = listed(
        [li.status for li in listings],
        [li.stock for li in listings],
        [li.seller_banned for li in listings],
        memory.policy,
    )
    banned = memory.bans.mask(
        np.array([li.asset_id for li in listings], dtype=object),
        np.array([li.seller_id for li in listings], dtype=object),
        np.array([li.category for li in listings], dtype=object),
    )
    no_viewer = Context(memory.policy, memory.bans)
    assert {li.asset_id for li, ok in zip(listings, col & ~banned, strict=True) if ok} == {
        li.asset_id for li in listings if shown(li, no_viewer)
    }


def test_each_rule_decides_alone() -> None:
    ok = Listing("a1", "active", None, "s1", False, "art")
    ctx = Context(LISTS, Bans(categories=frozenset({"weapons"})), Viewer("u", True, frozenset()))
    assert shown(ok, ctx)
    for bad in (
        Listing("a1", "pending", None, "s1", False, "art"),  # status
        Listing("a1", "active", None, "s1", True, "art"),  # seller ban
        Listing("a1", "active", 0, "s1", False, "art"),  # stock (lists)
        Listing("a1", "active", None, "s1", False, "weapons"),  # category ban
    ):
        assert not shown(bad, ctx)
    assert shown(Listing("a1", "active", 0, "s1", False, "art"), Context(SEARCH))
    bought = Viewer("u", True, frozenset({"a1"}))
    assert not shown(ok, Context(LISTS, viewer=bought))
    # An opted-out viewer's purchases are not read: the non-personal list.
    assert shown(ok, Context(LISTS, viewer=Viewer("u", False, frozenset({"a1"}))))
