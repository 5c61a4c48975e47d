"""One tag heads training run at a time across processes: a lease row in the database.

A process lock serialises the runs of one process; API workers and the
worker that runs the scheduler are separate processes, and each would
otherwise train on the same feedback (two versions registered for one round
of feedback). The lease is taken by one conditional ``UPDATE`` (atomic on
SQLite and PostgreSQL), released by its holder, and expires after
``ttl_s`` so a process that died mid-run does not block training for ever.

Example:
    >>> lease = TrainingLease(platform.db)  # doctest: +SKIP
    >>> with lease.hold() as held:  # doctest: +SKIP
    ...     if held:
    ...         train()
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from agora.storage.database import rowcount
from agora.tagging.tables import TagTrainingLeaseRow

if TYPE_CHECKING:
    from agora.storage.database import Database

HEADS_LEASE = "tag-heads"


class TrainingLease:
    """A named lease in ``tag_training_leases``."""

    def __init__(self, db: Database, name: str = HEADS_LEASE, *, ttl_s: float = 3600.0) -> None:
        self.db = db
        self.name = name
        self.ttl_s = ttl_s

    def acquire(self, holder: str | None = None) -> str | None:
        """The holder id when the lease was free (or expired) and is now ours, else None."""
        holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._ensure_row()
        now = datetime.now(UTC)
        free = or_(TagTrainingLeaseRow.holder.is_(None), TagTrainingLeaseRow.expires_at < now)
        with self.db.session() as s:
            taken = s.execute(
                update(TagTrainingLeaseRow)
                .where(TagTrainingLeaseRow.name == self.name)
                .where(free)
                .values(holder=holder[:128], expires_at=now + timedelta(seconds=self.ttl_s))
            )
        return holder if rowcount(taken) == 1 else None

    def release(self, holder: str) -> None:
        """Free the lease if ``holder`` still holds it."""
        with self.db.session() as s:
            s.execute(
                update(TagTrainingLeaseRow)
                .where(TagTrainingLeaseRow.name == self.name)
                .where(TagTrainingLeaseRow.holder == holder[:128])
                .values(holder=None, expires_at=None)
            )

    def holder(self) -> str | None:
        """Who holds the lease now (None: free or expired)."""
        with self.db.session() as s:
            row = s.get(TagTrainingLeaseRow, self.name)
            if row is None or row.holder is None or row.expires_at is None:
                return None
            expires = row.expires_at
            expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            return row.holder if expires >= datetime.now(UTC) else None

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """``True`` inside when this process holds the lease (released at the end)."""
        holder = self.acquire()
        try:
            yield holder is not None
        finally:
            if holder is not None:
                self.release(holder)

    def _ensure_row(self) -> None:
        with self.db.session() as s:
            if s.get(TagTrainingLeaseRow, self.name) is not None:
                return
        try:
            with self.db.session() as s:
                s.add(TagTrainingLeaseRow(name=self.name, holder=None, expires_at=None))
        except IntegrityError:
            pass  # another process created it first
