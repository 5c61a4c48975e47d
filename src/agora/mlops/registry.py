"""Registry workflow on the model store: champion and challenger, promotion
history, one-step rollback.

MLflow's aliases say *what* serves (``champion`` = production, ``challenger``
= staging/canary); MLflow keeps no record of who moved them, when, why or
with which metrics, and has no rollback (mlflow#6180, #2169). Here every move
is one catalog transaction that appends a ``model_promotions`` row and
updates the ``model_deployments`` row the serving resolver reads, then moves
the MLflow alias; if MLflow refuses, the transaction rolls back. History rows
are only ever inserted.

Rollback restores the *previous champion*: the champion stack is replayed
from the history (``promote`` pushes, ``rollback`` pops), so repeated
rollbacks walk back through earlier champions.

Example:
    >>> reg = ModelRegistry(platform.models, platform.db)  # doctest: +SKIP
    >>> reg.promote("pctr", "3", actor="cli:ana", reason="canary healthy")  # doctest: +SKIP
    >>> reg.rollback("pctr", actor="cli:ana", reason="CTR dropped")  # doctest: +SKIP
    Deployment(model_name='pctr', champion='2', ...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from agora.errors import Conflict, InvalidInput, NotFound
from agora.mlops.base import ModelStore
from agora.mlops.tables import ModelDeploymentRow, ModelPromotionRow
from agora.storage.database import Database
from agora.storage.tables import stored_utc

CHAMPION = "champion"
CHALLENGER = "challenger"
# History actions. Only the first four move aliases.
PROMOTE, ROLLBACK, CHALLENGE, ABORT_CANARY = "promote", "rollback", "challenger", "abort_canary"
REGISTERED, GATE_REJECTED = "registered", "gate_rejected"
ACTIONS = frozenset({PROMOTE, ROLLBACK, CHALLENGE, ABORT_CANARY, REGISTERED, GATE_REJECTED})


@dataclass(frozen=True)
class Deployment:
    """Which versions of a model serve, and the canary's share and start."""

    model_name: str
    champion: str | None
    challenger: str | None
    canary_share: float | None
    canary_started_at: datetime | None
    revision: int

    def challenger_against(self, champion: str | None) -> str | None:
        """The challenger in canary against ``champion`` (None: no canary, or the
        champion this process serves has been replaced since)."""
        if self.challenger is None or champion is None or self.champion != champion:
            return None
        return self.challenger

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "champion": self.champion,
            "challenger": self.challenger,
            "canary_share": self.canary_share,
            "canary_started_at": _iso(self.canary_started_at),
            "revision": self.revision,
        }


@dataclass(frozen=True)
class Promotion:
    """One history entry: who did what to which version, when and why."""

    id: int
    model_name: str
    action: str
    version: str | None
    previous_version: str | None
    actor: str
    reason: str
    metrics: dict[str, Any]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model_name,
            "action": self.action,
            "version": self.version,
            "previous_version": self.previous_version,
            "actor": self.actor,
            "reason": self.reason,
            "metrics": self.metrics,
            "at": _iso(self.at),
        }


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return stored_utc(ts).isoformat()


def _deployment(row: ModelDeploymentRow) -> Deployment:
    started = row.canary_started_at
    if started is not None and started.tzinfo is None:  # SQLite drops the zone
        started = started.replace(tzinfo=UTC)
    return Deployment(
        row.model_name,
        row.champion_version,
        row.challenger_version,
        row.canary_share,
        started,
        row.revision,
    )


def _promotion(row: ModelPromotionRow) -> Promotion:
    at = stored_utc(row.at)
    return Promotion(
        row.id,
        row.model_name,
        row.action,
        row.version,
        row.previous_version,
        row.actor,
        row.reason,
        dict(row.metrics or {}),
        at,
    )


class ModelRegistry:
    """Champion/challenger workflow with an append-only promotion history."""

    def __init__(self, store: ModelStore, db: Database) -> None:
        self.store = store
        self.db = db

    # -- reading ---------------------------------------------------------------

    def deployment(self, name: str) -> Deployment:
        """Current serving state; adopts MLflow aliases set outside Agora once."""
        with self.db.session() as s:
            row = s.get(ModelDeploymentRow, name)
            if row is not None:
                return _deployment(row)
        try:
            aliases = self._aliases(name)
        except NotFound:  # not registered (yet): nothing serves, nothing to persist
            return Deployment(name, None, None, None, None, 0)
        return self._adopt(name, aliases)

    def _adopt(self, name: str, aliases: dict[str, str]) -> Deployment:
        """Create the deployment row from MLflow's aliases (a race is harmless)."""
        try:
            with self.db.session() as s:
                row = s.get(ModelDeploymentRow, name)
                if row is None:
                    row = ModelDeploymentRow(
                        model_name=name,
                        champion_version=aliases.get(CHAMPION),
                        challenger_version=aliases.get(CHALLENGER),
                        canary_started_at=datetime.now(UTC) if CHALLENGER in aliases else None,
                    )
                    s.add(row)
                    s.flush()
                return _deployment(row)
        except IntegrityError:  # another process adopted it first
            with self.db.session() as s:
                return _deployment(s.get_one(ModelDeploymentRow, name))

    def deployments_of(self, names: list[str]) -> dict[str, Deployment]:
        """Deployment rows of ``names`` in one read (models without a row are absent;
        unlike ``deployment`` this never adopts MLflow aliases: it is on the hot path)."""
        with self.db.session() as s:
            rows = s.scalars(
                select(ModelDeploymentRow).where(ModelDeploymentRow.model_name.in_(names))
            )
            return {r.model_name: _deployment(r) for r in rows}

    def deployments(self) -> list[Deployment]:
        """Every model with a serving state, by name."""
        with self.db.session() as s:
            rows = s.scalars(select(ModelDeploymentRow).order_by(ModelDeploymentRow.model_name))
            return [_deployment(r) for r in rows]

    def history(self, name: str, *, limit: int = 1000) -> list[Promotion]:
        """Promotion history of ``name``, oldest first."""
        with self.db.session() as s:
            rows = s.scalars(
                select(ModelPromotionRow)
                .where(ModelPromotionRow.model_name == name)
                .order_by(ModelPromotionRow.id)
                .limit(limit)
            )
            return [_promotion(r) for r in rows]

    def previous_champion(self, name: str) -> str | None:
        """The champion a rollback would restore (replayed from the history)."""
        stack = self._champion_stack(self.history(name, limit=1_000_000))
        return stack[-2] if len(stack) >= 2 else None

    @staticmethod
    def _champion_stack(history: list[Promotion]) -> list[str]:
        stack: list[str] = []
        for entry in history:
            if entry.action == PROMOTE and entry.version is not None:
                stack.append(entry.version)
            elif entry.action == ROLLBACK and stack:
                stack.pop()
        return stack

    # -- recording ---------------------------------------------------------------

    def record(
        self,
        name: str,
        action: str,
        version: str | None,
        *,
        actor: str,
        reason: str = "",
        metrics: dict[str, Any] | None = None,
    ) -> Promotion:
        """Append a history entry that moves no alias (``registered``, ``gate_rejected``)."""
        if action not in (REGISTERED, GATE_REJECTED):
            raise InvalidInput(f"use promote/challenge/rollback for {action!r}")
        with self.db.session() as s:
            return self._append(s, name, action, version, None, actor, reason, metrics)

    # -- moving aliases ----------------------------------------------------------

    def challenge(
        self,
        name: str,
        version: str,
        *,
        actor: str,
        reason: str,
        metrics: dict[str, Any] | None = None,
        canary_share: float | None = None,
    ) -> Deployment:
        """Make ``version`` the challenger: it starts serving its canary share now."""
        self.store.info(name, version=version)  # NotFound for an unknown version
        if canary_share is not None and not 0.0 <= canary_share <= 1.0:
            raise InvalidInput("canary_share must be between 0 and 1")
        with self._moving(name) as (s, row):
            if row.champion_version is None:
                raise Conflict(f"model {name!r} has no champion to canary against; promote it")
            if version == row.champion_version:
                raise Conflict(f"{name}@{version} is already the champion")
            previous = row.challenger_version
            self._append(s, name, CHALLENGE, version, previous, actor, reason, metrics)
            row.challenger_version = version
            row.canary_share = canary_share
            row.canary_started_at = datetime.now(UTC)
            self.store.set_alias(name, CHALLENGER, version)
        return self.deployment(name)

    def promote(
        self,
        name: str,
        version: str | None = None,
        *,
        actor: str,
        reason: str,
        metrics: dict[str, Any] | None = None,
    ) -> Deployment:
        """Make ``version`` (default: the challenger) the champion."""
        with self._moving(name) as (s, row):
            target = version or row.challenger_version
            if target is None:
                raise Conflict(f"model {name!r} has no challenger; name a version to promote")
            self.store.info(name, version=target)
            if target == row.champion_version:
                raise Conflict(f"{name}@{target} is already the champion")
            self._append(s, name, PROMOTE, target, row.champion_version, actor, reason, metrics)
            row.champion_version = target
            if row.challenger_version is not None:
                row.challenger_version = None
                row.canary_started_at = None
                self._drop_alias(name, CHALLENGER)
            self.store.set_alias(name, CHAMPION, target)
        return self.deployment(name)

    def rollback(
        self, name: str, *, actor: str, reason: str, metrics: dict[str, Any] | None = None
    ) -> Deployment:
        """Restore the previous champion (one step back in the champion stack)."""
        history = self.history(name, limit=1_000_000)
        stack = self._champion_stack(history)
        if len(stack) < 2:
            raise Conflict(f"model {name!r} has no previous champion to roll back to")
        restored, demoted = stack[-2], stack[-1]
        with self._moving(name) as (s, row):
            if row.champion_version != demoted:
                raise Conflict(f"model {name!r} changed meanwhile; retry")
            self._append(s, name, ROLLBACK, restored, demoted, actor, reason, metrics)
            row.champion_version = restored
            self.store.set_alias(name, CHAMPION, restored)
        return self.deployment(name)

    def abort_canary(
        self, name: str, *, actor: str, reason: str, metrics: dict[str, Any] | None = None
    ) -> Deployment:
        """Stop the challenger's canary: every user goes back to the champion."""
        with self._moving(name) as (s, row):
            if row.challenger_version is None:
                raise Conflict(f"model {name!r} has no challenger in canary")
            version = row.challenger_version
            self._append(s, name, ABORT_CANARY, version, None, actor, reason, metrics)
            row.challenger_version = None
            row.canary_started_at = None
            self._drop_alias(name, CHALLENGER)
        return self.deployment(name)

    # -- internals ---------------------------------------------------------------

    @contextmanager
    def _moving(self, name: str) -> Iterator[tuple[Session, ModelDeploymentRow]]:
        """One move on the locked deployment row (row lock on PostgreSQL; on SQLite
        the revision check catches a concurrent move), committed at the end."""
        if self.deployment(name).revision == 0:
            self._adopt(name, self._aliases(name))  # make sure the row exists
        try:
            with self.db.session() as s:
                row = s.execute(
                    select(ModelDeploymentRow)
                    .where(ModelDeploymentRow.model_name == name)
                    .with_for_update()
                ).scalar_one()
                yield s, row
                row.updated_at = datetime.now(UTC)  # always an UPDATE, so the revision moves
        except StaleDataError as exc:
            raise Conflict(f"model {name!r} changed meanwhile; retry") from exc

    @staticmethod
    def _append(
        s: Session,
        name: str,
        action: str,
        version: str | None,
        previous: str | None,
        actor: str,
        reason: str,
        metrics: dict[str, Any] | None,
    ) -> Promotion:
        row = ModelPromotionRow(
            model_name=name,
            action=action,
            version=version,
            previous_version=previous,
            actor=actor,
            reason=reason or "",
            metrics=dict(metrics or {}),
            at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        return _promotion(row)

    def _aliases(self, name: str) -> dict[str, str]:
        aliases = getattr(self.store, "aliases", None)
        if aliases is not None:
            found: dict[str, str] = aliases(name)
            return found
        versions = self.store.versions(name)
        return {alias: v.ref.version for v in versions for alias in v.aliases}

    def _drop_alias(self, name: str, alias: str) -> None:
        with suppress(NotFound):  # already gone (e.g. removed in the MLflow UI)
            self.store.delete_alias(name, alias)
