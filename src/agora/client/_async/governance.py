"""Audit log, webhooks and API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any

from agora.api.schemas.audit import AuditEntry, AuditPage, ChainReport
from agora.api.schemas.keys import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage
from agora.api.schemas.webhooks import (
    DeliveryList,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)
from agora.client._async.base import AsyncResource, body
from agora.client.call import Call


class AsyncAudit(AsyncResource):
    """``/audit``: the append-only, hash-chained log (admin)."""

    async def page(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> AuditPage:
        """One page of entries matching the filters, newest first."""
        params = {
            "subject_type": subject_type,
            "subject_id": subject_id,
            "action": action,
            "actor": actor,
            "since": since.isoformat() if since else None,
            "limit": limit,
            "cursor": cursor,
        }
        return await self._call(Call("GET", "audit", AuditPage, params=params))

    async def iterate(self, *, page_size: int = 500, **filters: Any) -> AsyncIterator[AuditEntry]:
        """Every matching entry, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.page(limit=page_size, cursor=cursor, **filters)
            for entry in page.entries:
                yield entry
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def verify(self) -> ChainReport:
        """Check the hash chain end to end (finds an edited, deleted or moved entry)."""
        return await self._call(Call("GET", "audit/verify", ChainReport))


class AsyncWebhooks(AsyncResource):
    """``/webhooks`` (admin)."""

    async def create(
        self,
        url: str,
        event_types: Iterable[str],
        *,
        secret: str | None = None,
    ) -> WebhookCreated:
        """Subscribe ``url``; the answer shows the signing secret once."""
        payload: Mapping[str, Any] = {"url": url, "event_types": list(event_types)}
        if secret is not None:
            payload = {**payload, "secret": secret}
        return await self._call(
            Call("POST", "webhooks", WebhookCreated, json=body(WebhookCreate, payload))
        )

    async def all(self) -> WebhookList:
        """Every subscription."""
        return await self._call(Call("GET", "webhooks", WebhookList))

    async def get(self, webhook_id: str) -> Webhook:
        """One subscription."""
        return await self._call(Call("GET", f"webhooks/{webhook_id}", Webhook))

    async def delete(self, webhook_id: str) -> None:
        """Unsubscribe."""
        await self._call(Call("DELETE", f"webhooks/{webhook_id}"))

    async def deliveries(
        self, webhook_id: str, *, status: str | None = None, limit: int = 100
    ) -> DeliveryList:
        """Its delivery log, with attempts and errors."""
        params = {"status": status, "limit": limit}
        return await self._call(
            Call("GET", f"webhooks/{webhook_id}/deliveries", DeliveryList, params=params)
        )


class AsyncKeys(AsyncResource):
    """``/keys``: API keys (admin)."""

    async def create(
        self,
        scopes: Iterable[str],
        *,
        name: str | None = None,
        rate_limit_per_minute: int | None = None,
        quota_per_day: int | None = None,
    ) -> ApiKeyCreated:
        """Create a key; the answer's ``token`` is shown only this once."""
        payload: dict[str, Any] = {"scopes": list(scopes)}
        for field, value in (
            ("name", name),
            ("rate_limit_per_minute", rate_limit_per_minute),
            ("quota_per_day", quota_per_day),
        ):
            if value is not None:
                payload[field] = value
        return await self._call(
            Call("POST", "keys", ApiKeyCreated, json=body(ApiKeyCreate, payload))
        )

    async def page(
        self, *, limit: int = 50, cursor: str | None = None, include_revoked: bool = True
    ) -> ApiKeyPage:
        """One page of keys, oldest first (never a token)."""
        params = {"limit": limit, "cursor": cursor, "include_revoked": include_revoked}
        return await self._call(Call("GET", "keys", ApiKeyPage, params=params))

    async def iterate(
        self, *, page_size: int = 500, include_revoked: bool = True
    ) -> AsyncIterator[ApiKey]:
        """Every key, oldest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.page(limit=page_size, cursor=cursor, include_revoked=include_revoked)
            for key in page.items:
                yield key
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def revoke(self, key_id: str) -> None:
        """Revoke a key (refused, 409, for the last active admin key)."""
        await self._call(Call("DELETE", f"keys/{key_id}"))
