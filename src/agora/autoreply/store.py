"""Reply templates (operator-approved, per language and intent) and sellers' past replies.

Example:
    >>> store = ReplyStore(platform.db)  # doctest: +SKIP
    >>> store.create_template("en", "question", "{stock} left", actor="ops")  # doctest: +SKIP
    1
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agora.autoreply.facts import ListingFacts, check_template, delexicalise
from agora.autoreply.tables import ReplyTemplateRow, SellerReplyRow
from agora.errors import InvalidInput, NotFound
from agora.storage.database import Database

MISSING = object()


def _template(row: ReplyTemplateRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "language": row.language,
        "intent": row.intent,
        "emotions": row.emotions,
        "text": row.text,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _reply(row: SellerReplyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "seller_id": row.seller_id,
        "language": row.language,
        "intent": row.intent,
        "emotion": row.emotion,
        "buyer_message": row.buyer_message,
        "reply": row.reply,
        "action": row.action,
        "suggestion_source": row.suggestion_source,
        "created_at": row.created_at,
    }


def _valid(text: str) -> None:
    try:
        check_template(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


class ReplyStore:
    """CRUD of templates and the append-only log of sellers' replies."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create_template(
        self,
        language: str,
        intent: str,
        text: str,
        *,
        actor: str,
        emotions: list[str] | None = None,
    ) -> dict[str, Any]:
        """A new template; a slot outside ``agora.autoreply.facts.SLOTS``: 422."""
        _valid(text)
        with self.db.session() as s:
            row = ReplyTemplateRow(
                language=language, intent=intent, emotions=emotions, text=text, created_by=actor
            )
            s.add(row)
            s.flush()
            return _template(row)

    def templates(
        self, *, language: str | None = None, intent: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Templates, optionally of one language and intent, oldest first."""
        q = select(ReplyTemplateRow).order_by(ReplyTemplateRow.id).limit(limit)
        if language is not None:
            q = q.where(ReplyTemplateRow.language == language)
        if intent is not None:
            q = q.where(ReplyTemplateRow.intent == intent)
        with self.db.session() as s:
            return [_template(r) for r in s.scalars(q)]

    def template(self, template_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(ReplyTemplateRow, template_id)
            if row is None:
                raise NotFound(f"reply template {template_id} not found")
            return _template(row)

    def update_template(self, template_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change ``language``, ``intent``, ``emotions`` or ``text``; unknown id: 404."""
        for key in ("language", "intent", "text"):
            if key in changes and changes[key] is None:
                raise InvalidInput(f"{key} cannot be null (leave it out to keep it)")
        if "text" in changes:
            _valid(changes["text"])
        with self.db.session() as s:
            row = s.get(ReplyTemplateRow, template_id)
            if row is None:
                raise NotFound(f"reply template {template_id} not found")
            for key in ("language", "intent", "emotions", "text"):
                if key in changes:
                    setattr(row, key, changes[key])
            s.flush()
            return _template(row)

    def delete_template(self, template_id: int) -> None:
        with self.db.session() as s:
            row = s.get(ReplyTemplateRow, template_id)
            if row is None:
                raise NotFound(f"reply template {template_id} not found")
            s.delete(row)

    def record_reply(
        self,
        seller_id: str,
        buyer_message: str,
        reply: str,
        *,
        action: str,
        facts: ListingFacts,
        language: str | None = None,
        intent: str | None = None,
        emotion: str | None = None,
        suggestion_source: str | None = None,
    ) -> dict[str, Any]:
        """Store a reply the seller sent or accepted, its listing's values as slots."""
        with self.db.session() as s:
            row = SellerReplyRow(
                seller_id=seller_id,
                language=language,
                intent=intent,
                emotion=emotion,
                buyer_message=buyer_message,
                reply=delexicalise(reply, facts),
                action=action,
                suggestion_source=suggestion_source,
            )
            s.add(row)
            s.flush()
            return _reply(row)

    def past_replies(self, seller_id: str, limit: int) -> list[dict[str, Any]]:
        """The seller's latest stored replies, newest first."""
        q = (
            select(SellerReplyRow)
            .where(SellerReplyRow.seller_id == seller_id)
            .order_by(SellerReplyRow.id.desc())
            .limit(limit)
        )
        with self.db.session() as s:
            return [_reply(r) for r in s.scalars(q)]
