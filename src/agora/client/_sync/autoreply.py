# Generated from agora/client/_async by scripts/gen-sync-client: do not edit.
"""Auto-reply: suggestions, operator templates and sellers' feedback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agora.api.schemas.autoreply import (
    AutoReplyRequest,
    AutoReplyResponse,
    FeedbackRequest,
    ReplyTemplate,
    ReplyTemplateList,
    StoredReply,
    TemplateCreate,
    TemplateUpdate,
)
from agora.client._sync.base import Resource, body
from agora.client.call import Call


class AutoReply(Resource):
    """``/auto-reply``, ``/auto-reply/templates`` and ``/auto-reply/feedback``."""

    def suggest(
        self,
        seller_id: str,
        conversation: list[Mapping[str, str]],
        listing: Mapping[str, Any] | None = None,
        *,
        language: str | None = None,
    ) -> AutoReplyResponse:
        """Up to 3 replies to the buyer's last message, filled with the listing's facts."""
        fields: dict[str, Any] = {"seller_id": seller_id, "conversation": list(conversation)}
        if listing is not None:
            fields["listing"] = dict(listing)
        if language is not None:
            fields["language"] = language
        payload = body(AutoReplyRequest, fields)
        return self._call(Call("POST", "auto-reply", AutoReplyResponse, json=payload))

    def create_template(
        self, language: str, intent: str, text: str, *, emotions: list[str] | None = None
    ) -> ReplyTemplate:
        """A new operator-approved template (slots: ``{price}``, ``{stock}``...)."""
        fields: dict[str, Any] = {"language": language, "intent": intent, "text": text}
        if emotions is not None:
            fields["emotions"] = emotions
        payload = body(TemplateCreate, fields)
        return self._call(Call("POST", "auto-reply/templates", ReplyTemplate, json=payload))

    def templates(
        self, *, language: str | None = None, intent: str | None = None
    ) -> ReplyTemplateList:
        """Templates, optionally of one language and intent."""
        params = {"language": language, "intent": intent}
        return self._call(Call("GET", "auto-reply/templates", ReplyTemplateList, params=params))

    def template(self, template_id: int) -> ReplyTemplate:
        """One template."""
        return self._call(Call("GET", f"auto-reply/templates/{template_id}", ReplyTemplate))

    def update_template(self, template_id: int, **changes: Any) -> ReplyTemplate:
        """Change a template's ``language``, ``intent``, ``text`` or ``emotions``."""
        payload = body(TemplateUpdate, changes)
        return self._call(
            Call("PATCH", f"auto-reply/templates/{template_id}", ReplyTemplate, json=payload)
        )

    def delete_template(self, template_id: int) -> None:
        """Delete a template."""
        self._call(Call("DELETE", f"auto-reply/templates/{template_id}"))

    def feedback(
        self,
        seller_id: str,
        buyer_message: str,
        reply: str,
        *,
        action: str = "sent",
        listing: Mapping[str, Any] | None = None,
        suggestion_id: str | None = None,
    ) -> StoredReply:
        """Store a reply the seller sent or accepted, for later suggestions."""
        fields: dict[str, Any] = {
            "seller_id": seller_id,
            "buyer_message": buyer_message,
            "reply": reply,
            "action": action,
        }
        if listing is not None:
            fields["listing"] = dict(listing)
        if suggestion_id is not None:
            fields["suggestion_id"] = suggestion_id
        payload = body(FeedbackRequest, fields)
        return self._call(Call("POST", "auto-reply/feedback", StoredReply, json=payload))
