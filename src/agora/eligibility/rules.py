"""The one definition of "may this asset be shown to this user now".

Every surface (search, recommendations, similar items, the ranked feed and
ranked search) asks this module, in one of three forms generated from the same
table of rules (:data:`RULES`):

- Python, one listing at a time: :func:`shown`;
- SQL, a WHERE clause over ``assets`` outer-joined to ``sellers``:
  :func:`shown_clause` (and :func:`shown_select`);
- numpy, over columns: :meth:`Bans.mask` and :func:`listed` feed the ranking
  pre-filter.

The rules, in order:

1. ``status``: the asset is ``active`` (moderation cleared it, nobody banned it);
2. ``seller``: its seller is not banned;
3. ``stock``: it is in stock (``stock`` NULL means unlimited, digital goods),
   where the :class:`Policy` asks for it: lists (recommendations, feed) never
   show a sold-out listing, search does (``in_stock`` narrows it);
4. ``overrides``: no admin override in force bans the asset, its seller or its
   category (``agora.features.overrides``);
5. ``consent``: a viewer who allows personalisation never gets what they
   already bought; one who opted out gets the non-personal answer, which does
   not read their purchase history.

The property test ``tests/unit/test_eligibility_rules.py`` holds the Python
and SQL forms equal on random catalogs, on SQLite and PostgreSQL.

Example:
    >>> ctx = Context(LISTS, Bans(categories=frozenset({"weapons"})))
    >>> shown(Listing("a1", "active", None, "s1", False, "art"), ctx)
    True
    >>> shown(Listing("a2", "active", 3, "s1", False, "weapons"), ctx)
    False
    >>> shown(Listing("a3", "active", 0, "s1", False, "art"), ctx)
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from sqlalchemy import Select, and_, exists, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from agora.domain import AssetStatus
from agora.storage.tables import AssetRow, ConsentRow, InteractionRow, SellerRow

if TYPE_CHECKING:
    from agora.features.base import ActiveOverrides

SHOWN_STATUS = AssetStatus.ACTIVE.value
PURCHASE = "purchase"


@dataclass(frozen=True, slots=True)
class Listing:
    """The catalog facts the rules read about one asset."""

    asset_id: str
    status: str
    stock: int | None
    seller_id: str
    seller_banned: bool
    category: str | None


class Facts(Protocol):
    """What a rule reads of an asset: a :class:`Listing`, or an entry of the
    catalog view (``agora.eligibility.view.ViewEntry``)."""

    @property
    def asset_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def stock(self) -> int | None: ...
    @property
    def seller_id(self) -> str: ...
    @property
    def seller_banned(self) -> bool: ...
    @property
    def category(self) -> str | None: ...


@dataclass(frozen=True)
class Policy:
    """What a surface requires beyond the rules every surface applies."""

    name: str
    require_stock: bool


# Search shows sold-out listings (a buyer may look them up; ``in_stock`` narrows).
SEARCH = Policy("search", require_stock=False)
# Recommendations, similar items and the ranked feed never offer what cannot be bought.
LISTS = Policy("lists", require_stock=True)


@dataclass(frozen=True)
class Bans:
    """Admin overrides in force that ban assets, sellers or categories."""

    assets: frozenset[str] = frozenset()
    sellers: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    @classmethod
    def of(cls, overrides: ActiveOverrides | None) -> Bans:
        """The bans of an ``ActiveOverrides`` snapshot (none for None)."""
        if overrides is None or not overrides.banned:
            return NO_BANS
        b = overrides.banned
        return cls(
            assets=frozenset(b.get("asset", ())),
            sellers=frozenset(b.get("seller", ())),
            categories=frozenset(b.get("category", ())),
        )

    def __bool__(self) -> bool:
        return bool(self.assets or self.sellers or self.categories)

    def bans(self, asset_id: str, seller_id: str, category: str | None) -> bool:
        """Whether an override bans this asset, its seller or its category."""
        return (
            asset_id in self.assets
            or seller_id in self.sellers
            or (category is not None and category in self.categories)
        )

    def mask(
        self, asset_ids: np.ndarray, seller_ids: np.ndarray, categories: np.ndarray
    ) -> np.ndarray:
        """numpy form: True where an override bans the row (object arrays in;
        ``asset_ids`` is read only when an asset is banned)."""
        out = np.zeros(len(seller_ids), dtype=bool)
        if self.categories:
            out |= np.isin(categories, list(self.categories))
        if self.sellers:
            out |= np.isin(seller_ids, list(self.sellers))
        if self.assets:
            out |= np.isin(asset_ids, list(self.assets))
        return out


NO_BANS = Bans()


@dataclass(frozen=True)
class Viewer:
    """Who is looking: their consent and (when they allow personalisation) purchases."""

    user_id: str
    personalised: bool = True
    purchased: frozenset[str] = frozenset()

    def may_see(self, asset_id: str) -> bool:
        """The consent rule: a purchase hides an asset only from a viewer whose
        history may shape what they see."""
        return not self.personalised or asset_id not in self.purchased


@dataclass(frozen=True)
class Context:
    """One request's question: the surface's policy, the bans in force, the viewer."""

    policy: Policy
    bans: Bans = NO_BANS
    viewer: Viewer | None = None
    # The rules that apply to this context, computed once (checked per candidate).
    rules: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(r for r in RULES if r.applies(self)))

    def beyond_catalog(self) -> tuple[Rule, ...]:
        """The rules left to check on a listing already known to pass the catalog
        rules (what :mod:`agora.eligibility.view` holds)."""
        return tuple(r for r in self.rules if not r.catalog)


class Rule(Protocol):
    """One rule in its Python and SQL forms."""

    name: str
    # True for rules that read only the catalog's own state (status, seller ban):
    # the in-process view keeps just the listings that pass them.
    catalog: bool

    def applies(self, ctx: Context) -> bool:
        """Whether the rule constrains anything in ``ctx``."""

    def admits(self, listing: Facts, ctx: Context) -> bool:
        """Python form."""

    def clause(self, ctx: Context) -> ColumnElement[bool]:
        """SQL form, over ``assets`` outer-joined to ``sellers``."""


class _Status:
    name, catalog = "status", True

    def applies(self, ctx: Context) -> bool:
        return True

    def admits(self, listing: Facts, ctx: Context) -> bool:
        return listing.status == SHOWN_STATUS

    def clause(self, ctx: Context) -> ColumnElement[bool]:
        return AssetRow.status == SHOWN_STATUS


class _Seller:
    name, catalog = "seller", True

    def applies(self, ctx: Context) -> bool:
        return True

    def admits(self, listing: Facts, ctx: Context) -> bool:
        return not listing.seller_banned

    def clause(self, ctx: Context) -> ColumnElement[bool]:
        return or_(SellerRow.banned.is_(None), SellerRow.banned == false())


class _Stock:
    name, catalog = "stock", False

    def applies(self, ctx: Context) -> bool:
        return ctx.policy.require_stock

    def admits(self, listing: Facts, ctx: Context) -> bool:
        return listing.stock is None or listing.stock > 0

    def clause(self, ctx: Context) -> ColumnElement[bool]:
        return or_(AssetRow.stock.is_(None), AssetRow.stock > 0)


class _Overrides:
    name, catalog = "overrides", False

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.bans)

    def admits(self, listing: Facts, ctx: Context) -> bool:
        return not ctx.bans.bans(listing.asset_id, listing.seller_id, listing.category)

    def clause(self, ctx: Context) -> ColumnElement[bool]:
        b = ctx.bans
        conds: list[ColumnElement[bool]] = []
        if b.assets:
            conds.append(AssetRow.id.not_in(sorted(b.assets)))
        if b.sellers:
            conds.append(AssetRow.seller_id.not_in(sorted(b.sellers)))
        if b.categories:
            # NOT IN is NULL (not true) for a NULL category: an uncategorised
            # asset is banned by no category.
            conds.append(
                or_(AssetRow.category.is_(None), AssetRow.category.not_in(sorted(b.categories)))
            )
        return and_(true(), *conds)


class _Consent:
    name, catalog = "consent", False

    def applies(self, ctx: Context) -> bool:
        return ctx.viewer is not None

    def admits(self, listing: Facts, ctx: Context) -> bool:
        return ctx.viewer is None or ctx.viewer.may_see(listing.asset_id)

    def clause(self, ctx: Context) -> ColumnElement[bool]:
        assert ctx.viewer is not None  # applies() said so
        uid = ctx.viewer.user_id
        # No consent row: privacy by default allows personalisation.
        opted_out = exists().where(
            ConsentRow.user_id == uid, ConsentRow.allows_personalization == false()
        )
        bought = exists().where(
            InteractionRow.user_id == uid,
            InteractionRow.asset_id == AssetRow.id,
            InteractionRow.type == PURCHASE,
        )
        return or_(opted_out, ~bought)


RULES: tuple[Rule, ...] = (_Status(), _Seller(), _Stock(), _Overrides(), _Consent())
# The catalog's own state (status, seller ban): what search shows with no overrides.
CATALOG = Context(SEARCH)


def shown(listing: Facts, ctx: Context) -> bool:
    """Python form: whether ``listing`` may be shown in ``ctx``."""
    return all(r.admits(listing, ctx) for r in ctx.rules)


def refused_by(listing: Facts, ctx: Context) -> str | None:
    """The name of the first rule that hides ``listing`` in ``ctx`` (None: shown),
    for inspectors that say why a candidate was dropped."""
    return next((r.name for r in ctx.rules if not r.admits(listing, ctx)), None)


def shown_clause(ctx: Context) -> ColumnElement[bool]:
    """SQL form of :func:`shown`, for a query over ``assets`` outer-joined to
    ``sellers`` on ``assets.seller_id`` (:func:`shown_select` builds it)."""
    return and_(*(r.clause(ctx) for r in ctx.rules))


def shown_select(ctx: Context, *columns: Any) -> Select[Any]:
    """``SELECT columns`` of the assets that may be shown in ``ctx``."""
    return (
        select(*columns)
        .join(SellerRow, SellerRow.id == AssetRow.seller_id, isouter=True)
        .where(shown_clause(ctx))
    )


def unlisted_reasons(
    ok: np.ndarray,
    status: Sequence[Any],
    stock: Sequence[Any],
    seller_banned: Sequence[Any],
    policy: Policy,
) -> dict[int, str]:
    """Row -> the catalog rule (status, seller, stock) that hides it, for the
    rows :func:`listed` refused (``ok`` is its answer; the rest are not read)."""
    ctx = Context(policy)
    out: dict[int, str] = {}
    for i in np.flatnonzero(~ok).tolist():
        sk = stock[i]
        fact = Listing(
            "", str(status[i]), None if sk is None else int(sk), "", bool(seller_banned[i]), None
        )
        out[i] = refused_by(fact, ctx) or "status"
    return out


def listed(
    status: Sequence[Any], stock: Sequence[Any], seller_banned: Sequence[Any], policy: Policy
) -> np.ndarray:
    """numpy form of the catalog and stock rules, one bool per row (a columnar
    snapshot's ``listed`` column; overrides and viewer are per request)."""
    ctx = Context(policy)
    return np.fromiter(
        (
            shown(Listing("", str(st), None if sk is None else int(sk), "", bool(sb), None), ctx)
            for st, sk, sb in zip(status, stock, seller_banned, strict=True)
        ),
        dtype=bool,
        count=len(status),
    )
