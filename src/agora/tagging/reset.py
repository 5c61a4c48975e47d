"""Resetting a category (or every category): its feedback and its trained heads.

A reset deletes the category's feedback rows and retires, for that category,
every tag heads version registered so far: a ``tag_resets`` row records the
newest version number (``heads_upto``), and ``HeadsTagger`` serves none of
those versions' tags of the category, so zero-shot tags it again until heads
trained after the reset (without the deleted feedback) come through the gate.
The versions themselves stay in the model store (their history and audit
stay meaningful), and other categories keep their heads.

Tags that confirmed feedback wrote into an asset's own tags stay: they are
the asset's now (a later rejection still removes them).

Example:
    >>> reset_feedback(platform.db, platform.models, platform.audit, "art_style",
    ...                actor="key:ab12")  # doctest: +SKIP
    Reset(category='art_style', heads_upto=3, feedback_deleted=41)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from agora.errors import NotFound
from agora.storage.database import rowcount
from agora.tagging.tables import TagFeedbackRow, TagResetRow
from agora.tagging.training import HEADS_MODEL

if TYPE_CHECKING:
    from agora.governance.audit import AuditLog
    from agora.mlops.base import ModelStore
    from agora.storage.database import Database

ALL = "*"
"""The category of a reset of every category."""


@dataclass(frozen=True)
class Reset:
    """What a reset did."""

    category: str
    heads_upto: int
    feedback_deleted: int


def newest_heads_version(models: ModelStore) -> int:
    """The highest registered tag heads version number (0: none)."""
    try:
        versions = models.versions(HEADS_MODEL)
    except NotFound:
        return 0
    return max((int(v.ref.version) for v in versions if v.ref.version.isdigit()), default=0)


def reset_feedback(
    db: Database, models: ModelStore, audit: AuditLog, category: str, *, actor: str
) -> Reset:
    """Delete ``category``'s feedback (``ALL``: all feedback) and retire the heads
    registered so far for it, in one audited transaction. The caller holds the
    training lease: a run in flight would register heads trained on the deleted rows."""
    upto = newest_heads_version(models)
    with db.session() as s:
        query = delete(TagFeedbackRow)
        if category != ALL:
            query = query.where(TagFeedbackRow.category == category)
        deleted = rowcount(s.execute(query))
        s.add(TagResetRow(category=category, heads_upto=upto, feedback_deleted=deleted,
                          actor=actor[:128], created_at=datetime.now(UTC)))  # fmt: skip
        details = {"category": category, "feedback_deleted": deleted, "heads_retired_upto": upto}
        audit.record(actor, "tagging.reset", "taxonomy", category, details=details, session=s)
    return Reset(category, upto, deleted)


def retired_upto(db: Database) -> dict[str, int]:
    """Per category (``ALL`` included), the newest heads version that no longer serves it."""
    with db.session() as s:
        rows = s.execute(
            select(TagResetRow.category, func.max(TagResetRow.heads_upto)).group_by(
                TagResetRow.category
            )
        ).tuples()
        return {str(category): int(upto) for category, upto in rows}


def serves(retired: dict[str, int], version: str | None, category: str) -> bool:
    """Whether heads ``version`` may still tag ``category`` after the resets.

    >>> serves({"art_style": 2}, "2", "art_style"), serves({"art_style": 2}, "3", "art_style")
    (False, True)
    >>> serves({"*": 1}, "1", "genre"), serves({"*": 1}, "2", "genre")
    (False, True)
    """
    if version is None or not version.isdigit():
        return True
    return int(version) > max(retired.get(category, 0), retired.get(ALL, 0))
