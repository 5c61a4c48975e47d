"""Global overrides (seed 001): admins force-boost or ban categories, sellers, assets.

Overrides live in the catalog (``feature_overrides``), so every API process sees a
change on its next read; the snapshot is cached for ``cache_s`` (default 1 s) to keep
ranking from querying the database per request. Every change is audited. Bans of
assets and sellers write through to the catalog (asset status ``banned``, seller
``banned``), which stays the one truth: lifting the last ban on a target (DELETE, or expiry settled
by :meth:`OverrideStore.settle_expired`) restores the status the ban replaced (a
``pending`` or ``flagged`` asset goes back to review, not live), and leaves alone a
target that was banned by something else (a moderation block) before the override.

Example:
    >>> store = platform.overrides  # doctest: +SKIP
    >>> o = store.create({"action": "boost", "target": "category", "value": "art",
    ...                   "multiplier": 1.5, "ttl_s": 3600}, actor="key:ab")  # doctest: +SKIP
    >>> store.active_overrides().boost("a1", category="art")  # doctest: +SKIP
    1.5
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import or_, select

from agora.domain import AssetStatus
from agora.errors import InvalidInput, NotFound
from agora.features.base import ActiveOverrides, Override, OverrideAction, OverrideTarget
from agora.features.schemas import OverrideCreate
from agora.features.tables import OverrideRow
from agora.storage.tables import AssetRow, SellerRow

if TYPE_CHECKING:
    from agora.catalog.assets import AssetService
    from agora.catalog.people import PeopleService
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database

MAX_LIST = 1000


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _override(row: OverrideRow) -> Override:
    return Override(
        id=row.id,
        action=OverrideAction(row.action),
        target=OverrideTarget(row.target),
        value=row.value,
        multiplier=row.multiplier,
        reason=row.reason,
        created_by=row.created_by,
        created_at=_utc(row.created_at),
        expires_at=_utc(row.expires_at),
    )


def override_view(o: Override) -> dict[str, Any]:
    """JSON view of one override."""
    return {
        "id": o.id,
        "action": o.action.value,
        "target": o.target.value,
        "value": o.value,
        "multiplier": o.multiplier if o.action is OverrideAction.BOOST else None,
        "reason": o.reason,
        "created_by": o.created_by,
        "created_at": o.created_at.isoformat() if o.created_at else None,
        "expires_at": o.expires_at.isoformat() if o.expires_at else None,
    }


class OverrideStore:
    """Create, list, lift and look up overrides (implements ``OverrideReader``)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        assets: AssetService,
        people: PeopleService,
        *,
        cache_s: float = 1.0,
    ) -> None:
        """Overrides live in ``db`` (audited); bans write through to the catalog's
        ``assets`` and ``people``; lookups are cached for ``cache_s`` seconds."""
        self.db, self.audit, self.assets, self.people = db, audit, assets, people
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._snapshot: tuple[float, list[Override]] | None = None

    def create(self, body: OverrideCreate | Mapping[str, Any], actor: str) -> Override:
        """Store an override (a mapping is validated first); bans of assets and
        sellers write through to the catalog."""
        try:
            req = body if isinstance(body, OverrideCreate) else OverrideCreate.model_validate(body)
        except ValidationError as exc:
            msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InvalidInput(f"invalid override: {msg}") from None
        now = datetime.now(UTC)
        expires = _utc(req.expires_at)
        if req.ttl_s is not None:
            expires = now + timedelta(seconds=req.ttl_s)
        if expires is not None and expires <= now:
            raise InvalidInput("expires_at is in the past")
        self._check_target(req.target, req.value)
        is_ban = req.action is OverrideAction.BAN
        prior = self._prior_status(req.target, req.value, now) if is_ban else None
        row = OverrideRow(
            id=uuid.uuid4().hex,
            action=req.action.value,
            target=req.target.value,
            value=req.value,
            multiplier=req.multiplier if req.action is OverrideAction.BOOST else 1.0,
            reason=req.reason,
            created_by=actor,
            created_at=now,
            expires_at=expires,
            settled=False,
            prior_status=prior,
        )
        with self.db.session() as s:
            s.add(row)
            s.flush()
            out = _override(row)
            details = {
                "override_id": row.id,
                "multiplier": row.multiplier,
                "reason": req.reason,
                "expires_at": expires.isoformat() if expires else None,
            }
            self.audit.record(
                actor, f"override.{req.action.value}", req.target.value, req.value,
                details=details, session=s,
            )  # fmt: skip
        if is_ban:
            self._write_through(req.target, req.value, banned=True, actor=actor)
        self.invalidate()
        return out

    def _prior_status(self, target: OverrideTarget, value: str, now: datetime) -> str | None:
        """The catalog status a new ban replaces (see ``OverrideRow.prior_status``)."""
        with self.db.session() as s:
            if target is OverrideTarget.ASSET:
                asset = s.get(AssetRow, value)
                status = asset.status if asset is not None else None
            elif target is OverrideTarget.SELLER:
                seller = s.get(SellerRow, value)
                status = None if seller is None else ("banned" if seller.banned else "active")
            else:
                return None
            if status in (None, AssetStatus.REMOVED.value):
                return None
            if status != AssetStatus.BANNED.value:
                return status
            # Already banned: by another override in force (inherit what it will restore)
            # or by something else (restore nothing).
            inherited = s.scalars(
                select(OverrideRow.prior_status)
                .where(
                    OverrideRow.action == OverrideAction.BAN.value,
                    OverrideRow.target == target.value,
                    OverrideRow.value == value,
                    OverrideRow.deleted_at.is_(None),
                    or_(OverrideRow.expires_at.is_(None), OverrideRow.expires_at > now),
                    OverrideRow.prior_status.is_not(None),
                )
                .order_by(OverrideRow.created_at)
                .limit(1)
            ).first()
            return inherited

    def _check_target(self, target: OverrideTarget, value: str) -> None:
        table = {OverrideTarget.ASSET: AssetRow, OverrideTarget.SELLER: SellerRow}.get(target)
        if table is None:
            return
        with self.db.session() as s:
            if s.get(table, value) is None:
                raise NotFound(f"{target.value} {value!r} not found")

    def _write_through(
        self,
        target: OverrideTarget,
        value: str,
        *,
        banned: bool,
        actor: str,
        restore: str | None = None,
    ) -> None:
        """Ban in the catalog, or lift a ban back to ``restore`` (None: leave it banned)."""
        if not banned and restore is None:
            return
        if target is OverrideTarget.ASSET:
            with self.db.session() as s:
                row = s.get(AssetRow, value)
                status = row.status if row is not None else None
            if status is None or status == AssetStatus.REMOVED.value:
                return
            if banned and status != AssetStatus.BANNED.value:
                patch = {"status": AssetStatus.BANNED.value}
            elif not banned and restore is not None and status == AssetStatus.BANNED.value:
                patch = {"status": AssetStatus(restore).value}
            else:
                return
            self.assets.update(value, patch, actor, may_moderate=True)
        elif target is OverrideTarget.SELLER:
            self.people.upsert_seller(value, {"banned": banned}, actor)

    def _still_banned(self, target: OverrideTarget, value: str, at: datetime) -> bool:
        return any(
            o.action is OverrideAction.BAN and o.target is target and o.value == value
            for o in self._load(at)
        )

    def delete(self, override_id: str, actor: str) -> Override:
        """Lift an override now (kept for audit); unknown or lifted ids are NotFound."""
        now = datetime.now(UTC)
        with self.db.session() as s:
            row = s.get(OverrideRow, override_id, with_for_update=True)
            if row is None or row.deleted_at is not None:
                raise NotFound(f"override {override_id!r} not found")
            row.deleted_at = now
            out, restore = _override(row), row.prior_status
            self.audit.record(
                actor, "override.deleted", row.target, row.value,
                details={"override_id": row.id}, session=s,
            )  # fmt: skip
        # A cached snapshot still holds the lifted override: drop it before asking.
        self.invalidate()
        if out.action is OverrideAction.BAN and not self._still_banned(out.target, out.value, now):
            self._write_through(out.target, out.value, banned=False, actor=actor, restore=restore)
        self.invalidate()
        return out

    def settle_expired(self, actor: str = "system:overrides") -> int:
        """Lift the catalog bans of expired ban overrides; returns how many were settled."""
        now = datetime.now(UTC)
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(OverrideRow).where(
                        OverrideRow.action == OverrideAction.BAN.value,
                        OverrideRow.settled.is_(False),
                        OverrideRow.deleted_at.is_(None),
                        OverrideRow.expires_at.is_not(None),
                        OverrideRow.expires_at <= now,
                    )
                )
            )
            for row in rows:
                row.settled = True
            done = [(_override(r), r.prior_status) for r in rows]
        self.invalidate()  # _still_banned must not see a snapshot from before the expiry
        for o, restore in done:
            if not self._still_banned(o.target, o.value, now):
                self._write_through(o.target, o.value, banned=False, actor=actor, restore=restore)
        if done:
            self.invalidate()
        return len(done)

    def find(self, *, include_expired: bool = False, limit: int = MAX_LIST) -> list[Override]:
        """Overrides not lifted, newest first (expired ones too when asked)."""
        now = datetime.now(UTC)
        q = select(OverrideRow).where(OverrideRow.deleted_at.is_(None))
        if not include_expired:
            q = q.where(or_(OverrideRow.expires_at.is_(None), OverrideRow.expires_at > now))
        q = q.order_by(OverrideRow.created_at.desc()).limit(min(limit, MAX_LIST))
        with self.db.session() as s:
            return [_override(r) for r in s.scalars(q)]

    def get(self, override_id: str) -> Override:
        with self.db.session() as s:
            row = s.get(OverrideRow, override_id)
            if row is None or row.deleted_at is not None:
                raise NotFound(f"override {override_id!r} not found")
            return _override(row)

    def sellers_of(self, asset_ids: Sequence[str]) -> list[str | None]:
        """The catalog seller of each asset (None for unknown ids), in order."""
        with self.db.session() as s:
            found = dict(
                s.execute(
                    select(AssetRow.id, AssetRow.seller_id).where(AssetRow.id.in_(set(asset_ids)))
                )
                .tuples()
                .all()
            )
        return [found.get(a) for a in asset_ids]

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None

    def _load(self, at: datetime) -> list[Override]:
        with self._lock:
            snap = self._snapshot
        if snap is None or time.monotonic() - snap[0] > self.cache_s:
            rows = self.find(include_expired=True)
            snap = (time.monotonic(), rows)
            with self._lock:
                self._snapshot = snap
        return [o for o in snap[1] if o.active(at)]

    def active_overrides(self, at: datetime | None = None) -> ActiveOverrides:
        """Overrides in force at ``at`` (default now): bans and multiplied boosts."""
        active = self._load(_utc(at) or datetime.now(UTC))
        banned: dict[str, set[str]] = {}
        boosts: dict[str, dict[str, float]] = {}
        for o in active:
            if o.action is OverrideAction.BAN:
                banned.setdefault(o.target.value, set()).add(o.value)
            else:
                per = boosts.setdefault(o.target.value, {})
                per[o.value] = per.get(o.value, 1.0) * o.multiplier
        return ActiveOverrides(banned=banned, boosts=boosts, overrides=tuple(active))
