"""API keys: ``agora_<id>_<secret>``, stored as sha256 of the secret, with scopes.

Example:
    >>> store = ApiKeyStore(db)  # doctest: +SKIP
    >>> key = store.create(["read"], name="dashboard")  # doctest: +SKIP
    >>> store.authenticate(key.token).scopes  # doctest: +SKIP
    frozenset({'read'})
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from agora.domain import Scope
from agora.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from agora.storage.database import Database
from agora.storage.tables import ApiKeyRow

if TYPE_CHECKING:
    from agora.governance.audit import AuditLog

PREFIX = "agora"
_SCOPES = frozenset(s.value for s in Scope)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id (written into every write) and its scopes."""

    key_id: str
    scopes: frozenset[str]
    rate_limit_per_minute: int | None = None
    quota_per_day: int | None = None

    def has(self, scope: str) -> bool:
        """Whether a held scope implies ``scope`` (admin > moderator > write > read)."""
        wanted = Scope(scope)
        return any(Scope(held).implies(wanted) for held in self.scopes if held in _SCOPES)

    @property
    def highest(self) -> Scope | None:
        """The highest scope the key holds."""
        held = [Scope(s) for s in self.scopes if s in _SCOPES]
        return max(held, key=lambda s: s.rank) if held else None

    @property
    def actor(self) -> str:
        """Name written to the audit log."""
        return f"key:{self.key_id}"


@dataclass(frozen=True)
class CreatedKey:
    """A freshly created key; ``token`` is shown once and never stored."""

    key_id: str
    token: str
    scopes: list[str]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyStore:
    """Create, authenticate, list and revoke API keys."""

    def __init__(self, db: Database, audit: AuditLog | None = None) -> None:
        self.db = db
        self.audit = audit

    def create(
        self,
        scopes: list[str],
        *,
        name: str | None = None,
        rate_limit_per_minute: int | None = None,
        quota_per_day: int | None = None,
        actor: str = "cli",
    ) -> CreatedKey:
        """Create a key with the given scopes (audited as ``api_key.created``)."""
        valid = {s.value for s in Scope}
        bad = [s for s in scopes if s not in valid]
        if bad or not scopes:
            raise InvalidInput(f"invalid scopes {bad or scopes}; choose from {sorted(valid)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.add(
                ApiKeyRow(
                    id=key_id,
                    secret_hash=_hash(secret),
                    name=name,
                    scopes=sorted(scopes),
                    rate_limit_per_minute=rate_limit_per_minute,
                    quota_per_day=quota_per_day,
                )
            )
            if self.audit is not None:
                s.flush()
                self.audit.record(
                    actor,
                    "api_key.created",
                    "api_key",
                    key_id,
                    details={
                        "scopes": sorted(scopes),
                        "name": name,
                        "rate_limit_per_minute": rate_limit_per_minute,
                        "quota_per_day": quota_per_day,
                    },
                    session=s,
                )
        return CreatedKey(key_id, f"{PREFIX}_{key_id}_{secret}", sorted(scopes))

    def authenticate(self, token: str) -> Principal:
        """Resolve a bearer token to a principal or raise ``Unauthenticated``."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            raise Unauthenticated("malformed API key")
        _, key_id, secret = parts
        with self.db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("unknown or revoked API key")
            if not hmac.compare_digest(row.secret_hash, _hash(secret)):
                raise Unauthenticated("invalid API key")
            return Principal(
                key_id, frozenset(row.scopes), row.rate_limit_per_minute, row.quota_per_day
            )

    def list(self) -> list[dict[str, Any]]:
        """Every key, oldest first, without secrets (see ``key_view``)."""
        with self.db.session() as s:
            rows = s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))
            return [key_view(r) for r in rows]

    def page(
        self, *, limit: int = 50, cursor: str | None = None, include_revoked: bool = True
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """A page of keys, oldest first, and the cursor of the next page (None on the
        last). Keyset-paginated on (created_at, id): stable while keys are added."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        if cursor is not None:
            stamp, last_id = _decode_cursor(cursor)
            query = query.where(
                or_(
                    ApiKeyRow.created_at > stamp,
                    and_(ApiKeyRow.created_at == stamp, ApiKeyRow.id > last_id),
                )
            )
        with self.db.session() as s:
            # One row more than asked says whether a next page exists.
            rows = list(s.scalars(query.limit(limit + 1)))
            more = len(rows) > limit
            rows = rows[:limit]
            next_cursor = _encode_cursor(rows[-1]) if more else None
            return [key_view(r) for r in rows], next_cursor

    def get(self, key_id: str) -> dict[str, Any]:
        """One key without its secret, or ``NotFound``."""
        with self.db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"API key {key_id!r} not found")
            return key_view(row)

    def revoke(self, key_id: str, *, actor: str = "cli", keep_an_admin: bool = False) -> bool:
        """Revoke a key; it stops working on the next request (audited). Revoking a
        revoked key changes nothing and returns False.

        ``keep_an_admin`` (the HTTP API sets it) refuses, with ``Conflict``, to
        revoke the last active admin key: over HTTP nobody could manage keys after
        it. The local CLI needs no key, so it may."""
        with self.db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"API key {key_id!r} not found")
            if row.revoked_at is not None:
                return False
            if keep_an_admin and Scope.ADMIN.value in row.scopes:
                # Locked while counting, where the database can (PostgreSQL), so two
                # admins revoking each other's keys at once cannot both succeed.
                active = s.scalars(
                    select(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None)).with_for_update()
                )
                admins = [r.id for r in active if Scope.ADMIN.value in r.scopes]
                if admins == [key_id]:
                    raise Conflict(
                        f"refusing to revoke API key {key_id!r}: it is the last active admin "
                        "key, and without one no key could manage keys over the API; create "
                        "another admin key first (agora keys create --scope admin)"
                    )
            row.revoked_at = datetime.now(UTC)
            if self.audit is not None:
                self.audit.record(actor, "api_key.revoked", "api_key", key_id, session=s)
            return True


def key_view(row: ApiKeyRow) -> dict[str, Any]:
    """A key as the API and the CLI show it: never its secret or its hash."""
    return {
        "id": row.id,
        "name": row.name,
        "scopes": list(row.scopes),
        "rate_limit_per_minute": row.rate_limit_per_minute,
        "quota_per_day": row.quota_per_day,
        "revoked": row.revoked_at is not None,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def _encode_cursor(row: ApiKeyRow) -> str:
    raw = json.dumps([row.created_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, key_id = json.loads(raw)
        return datetime.fromisoformat(stamp), str(key_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput("invalid cursor") from None
