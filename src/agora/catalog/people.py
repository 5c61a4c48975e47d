"""Sellers and users: upsert attributes; a seller's ban lives here (one truth).

Example:
    >>> people = platform.people  # doctest: +SKIP
    >>> people.upsert_seller("s1", {"name": "Pixel Forge"}, "key:ab")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from agora.catalog.assets import validation_detail
from agora.catalog.schemas import SellerUpsert, UserUpsert
from agora.catalog.views import seller_view, user_view
from agora.errors import InvalidInput, NotFound
from agora.storage.tables import SellerRow, UserRow

if TYPE_CHECKING:
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database

M = TypeVar("M", bound=BaseModel)


class PeopleService:
    """Upsert and read sellers and users."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        """Sellers and users live in the catalog ``db``; a ban change is audited."""
        self.db, self.audit = db, audit

    def upsert_seller(
        self, seller_id: str, attrs: SellerUpsert | Mapping[str, Any], actor: str
    ) -> dict[str, Any]:
        """Create or update a seller (fields not sent are kept); a ban change is audited."""
        body = _fields(SellerUpsert, attrs, "seller")
        _check_id(seller_id)
        with self.db.session() as s:
            row = s.get(SellerRow, seller_id)
            created = row is None
            if row is None:
                row = SellerRow(
                    id=seller_id, trust_score=0.5, verified=False, banned=False, attributes={}
                )
                s.add(row)
            ban_changed = "banned" in body and bool(body["banned"]) != bool(row.banned)
            for name, value in body.items():
                setattr(row, name, value)
            s.flush()
            action = "seller.created" if created else "seller.updated"
            self.audit.record(
                actor, action, "seller", seller_id, details={"fields": sorted(body)}, session=s
            )
            if ban_changed:
                self.audit.record(
                    actor,
                    "seller.banned" if row.banned else "seller.unbanned",
                    "seller",
                    seller_id,
                    session=s,
                )
            return seller_view(row)

    def get_seller(self, seller_id: str) -> dict[str, Any]:
        """One seller; ``NotFound`` for unknown ids."""
        with self.db.session() as s:
            row = s.get(SellerRow, seller_id)
            if row is None:
                raise NotFound(f"seller {seller_id!r} not found")
            return seller_view(row)

    def upsert_user(
        self, user_id: str, attrs: UserUpsert | Mapping[str, Any], actor: str
    ) -> dict[str, Any]:
        """Create or update a user's attributes, region and optional geo (fields
        not sent are kept)."""
        body = _fields(UserUpsert, attrs, "user")
        _check_id(user_id)
        with self.db.session() as s:
            row = s.get(UserRow, user_id)
            created = row is None
            if row is None:
                row = UserRow(id=user_id, attributes={})
                s.add(row)
            for name, value in body.items():
                setattr(row, name, value)
            s.flush()
            self.audit.record(
                actor,
                "user.created" if created else "user.updated",
                "user",
                user_id,
                details={"fields": sorted(body)},
                session=s,
            )
            return user_view(row)

    def get_user(self, user_id: str) -> dict[str, Any]:
        """One user; ``NotFound`` for unknown ids."""
        with self.db.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"user {user_id!r} not found")
            return user_view(row)


def _fields(model: type[M], attrs: M | Mapping[str, Any], what: str) -> dict[str, Any]:
    """The fields the caller set, validated (a model from the API is already)."""
    if not isinstance(attrs, model):
        try:
            attrs = model.model_validate(attrs)
        except ValidationError as exc:
            raise InvalidInput(f"invalid {what}: {validation_detail(exc)}") from None
    return attrs.model_dump(exclude_unset=True)


def _check_id(entity_id: str) -> None:
    if (
        not entity_id
        or len(entity_id) > 128
        or "\x00" in entity_id
        or any(c.isspace() for c in entity_id)
    ):
        raise InvalidInput("ids are 1-128 characters without whitespace")
