"""The client: every resource group over one pooled httpx client."""

from __future__ import annotations

from typing import TypeVar

import httpx

from agora.api.schemas.ops import Health, Readiness
from agora.client._async.autoreply import AsyncAutoReply
from agora.client._async.catalog import (
    AsyncAssets,
    AsyncEvents,
    AsyncJobs,
    AsyncSellers,
    AsyncUsers,
)
from agora.client._async.discovery import (
    AsyncFeed,
    AsyncRecommendations,
    AsyncSearch,
    AsyncTags,
)
from agora.client._async.governance import AsyncAudit, AsyncKeys, AsyncWebhooks
from agora.client._async.mlops import (
    AsyncAlerts,
    AsyncFeatures,
    AsyncModels,
    AsyncOrchestrator,
    AsyncOverrides,
    AsyncPipelines,
    AsyncScheduler,
)
from agora.client._async.trust import AsyncCodeReview, AsyncIdentity, AsyncModeration
from agora.client.call import Call, RetryPolicy
from agora.client.settings import ClientSettings
from agora.client.transport import send_async

T = TypeVar("T")


class AsyncClient:
    """An Agora API client.

    ``base_url`` and ``api_key`` default to ``AGORA_URL`` and ``AGORA_KEY``
    (then ``http://127.0.0.1:8000``). 429 and 503 answers are retried
    (honouring ``Retry-After``), as are connection errors of idempotent calls;
    error answers raise ``agora.client.ApiError`` subclasses. ``http`` may be
    any httpx client of the same kind (a proxy, custom TLS, a test transport).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        settings = ClientSettings.resolve(base_url, api_key)
        self._http = http or httpx.AsyncClient(base_url=settings.url, timeout=timeout)
        if settings.key:
            self._http.headers["Authorization"] = f"Bearer {settings.key}"
        self._retry = retry or RetryPolicy()
        self.assets = AsyncAssets(self)
        self.users = AsyncUsers(self)
        self.sellers = AsyncSellers(self)
        self.events = AsyncEvents(self)
        self.jobs = AsyncJobs(self)
        self.search = AsyncSearch(self)
        self.feed = AsyncFeed(self)
        self.recommendations = AsyncRecommendations(self)
        self.tags = AsyncTags(self)
        self.moderation = AsyncModeration(self)
        self.identity = AsyncIdentity(self)
        self.code_review = AsyncCodeReview(self)
        self.auto_reply = AsyncAutoReply(self)
        self.audit = AsyncAudit(self)
        self.webhooks = AsyncWebhooks(self)
        self.keys = AsyncKeys(self)
        self.models = AsyncModels(self)
        self.alerts = AsyncAlerts(self)
        self.pipelines = AsyncPipelines(self)
        self.scheduler = AsyncScheduler(self)
        self.orchestrator = AsyncOrchestrator(self)
        self.features = AsyncFeatures(self)
        self.overrides = AsyncOverrides(self)

    async def call(self, call: Call[T]) -> T:
        """Send one call (the escape hatch for any route)."""
        return await send_async(self._http, call, self._retry)

    async def health(self) -> Health:
        """``/healthz``: the process answers."""
        return await self.call(Call("GET", "/healthz", Health))

    async def ready(self) -> Readiness:
        """``/readyz``: every backend answers (a 503 raises ``ServiceUnavailableError``)."""
        return await self.call(Call("GET", "/readyz", Readiness))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
