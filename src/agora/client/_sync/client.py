# Generated from agora/client/_async by scripts/gen-sync-client: do not edit.
"""The client: every resource group over one pooled httpx client."""

from __future__ import annotations

from typing import TypeVar

import httpx

from agora.api.schemas.ops import Health, Readiness
from agora.client._sync.autoreply import AutoReply
from agora.client._sync.catalog import (
    Assets,
    Events,
    Jobs,
    Sellers,
    Users,
)
from agora.client._sync.discovery import (
    Feed,
    Recommendations,
    Search,
    Tags,
)
from agora.client._sync.governance import Audit, Keys, Webhooks
from agora.client._sync.mlops import (
    Alerts,
    Features,
    Models,
    Orchestrator,
    Overrides,
    Pipelines,
    Scheduler,
)
from agora.client._sync.trust import CodeReview, Identity, Moderation
from agora.client.call import Call, RetryPolicy
from agora.client.settings import ClientSettings
from agora.client.transport import send

T = TypeVar("T")


class Client:
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
        http: httpx.Client | None = None,
    ) -> None:
        settings = ClientSettings.resolve(base_url, api_key)
        self._http = http or httpx.Client(base_url=settings.url, timeout=timeout)
        if settings.key:
            self._http.headers["Authorization"] = f"Bearer {settings.key}"
        self._retry = retry or RetryPolicy()
        self.assets = Assets(self)
        self.users = Users(self)
        self.sellers = Sellers(self)
        self.events = Events(self)
        self.jobs = Jobs(self)
        self.search = Search(self)
        self.feed = Feed(self)
        self.recommendations = Recommendations(self)
        self.tags = Tags(self)
        self.moderation = Moderation(self)
        self.identity = Identity(self)
        self.code_review = CodeReview(self)
        self.auto_reply = AutoReply(self)
        self.audit = Audit(self)
        self.webhooks = Webhooks(self)
        self.keys = Keys(self)
        self.models = Models(self)
        self.alerts = Alerts(self)
        self.pipelines = Pipelines(self)
        self.scheduler = Scheduler(self)
        self.orchestrator = Orchestrator(self)
        self.features = Features(self)
        self.overrides = Overrides(self)

    def call(self, call: Call[T]) -> T:
        """Send one call (the escape hatch for any route)."""
        return send(self._http, call, self._retry)

    def health(self) -> Health:
        """``/healthz``: the process answers."""
        return self.call(Call("GET", "/healthz", Health))

    def ready(self) -> Readiness:
        """``/readyz``: every backend answers (a 503 raises ``ServiceUnavailableError``)."""
        return self.call(Call("GET", "/readyz", Readiness))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
