"""API keys: ``agora_<id>_<secret>``, stored as sha256 of the secret, with scopes.

Example:
    >>> store = ApiKeyStore(db)  # doctest: +SKIP
    >>> key = store.create(["read"], name="dashboard")  # doctest: +SKIP
    >>> store.authenticate(key.token).scopes  # doctest: +SKIP
    frozenset({'read'})
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from agora.domain import Scope
from agora.errors import InvalidInput, NotFound, Unauthenticated
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
                    details={"scopes": sorted(scopes), "name": name},
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

    def list(self) -> list[dict[str, object]]:
        """Keys without secrets."""
        with self.db.session() as s:
            rows = s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all()
            return [
                {
                    "id": r.id,
                    "name": r.name,
                    "scopes": r.scopes,
                    "revoked": r.revoked_at is not None,
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ]

    def revoke(self, key_id: str, *, actor: str = "cli") -> None:
        """Revoke a key; it stops working on the next request (audited)."""
        with self.db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"API key {key_id!r} not found")
            row.revoked_at = datetime.now(UTC)
            if self.audit is not None:
                self.audit.record(actor, "api_key.revoked", "api_key", key_id, session=s)
