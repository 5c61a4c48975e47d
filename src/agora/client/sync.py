"""The synchronous client.

Example:
    >>> with Client("http://127.0.0.1:8000", api_key=KEY) as agora:  # doctest: +SKIP
    ...     agora.sellers.put("s1", {"name": "Pixel Forge"})
    ...     hits = agora.search.query("tank").hits
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import httpx

from agora.api.schemas.events import EventBatchResult, EventIn
from agora.api.schemas.people import Seller, SellerUpsert, User, UserUpsert
from agora.client import people
from agora.client.call import Call, RetryPolicy
from agora.client.settings import ClientSettings
from agora.client.transport import send

T = TypeVar("T")


class Client:
    """An Agora API client over one ``httpx.Client`` (connection pooling, HTTP/1.1).

    Retries 429 and 503 answers (honouring ``Retry-After``) and connection
    errors of idempotent calls; error answers raise ``agora.client.ApiError``
    subclasses. ``http`` may be any ``httpx.Client`` (a test client, a client
    with a proxy or custom TLS).
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
        self.users = Users(self)
        self.sellers = Sellers(self)
        self.events = Events(self)

    def call(self, call: Call[T]) -> T:
        """Send one call (the escape hatch for any route)."""
        return send(self._http, call, self._retry)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Users(_Resource):
    """``/users``."""

    def put(self, user_id: str, body: UserUpsert | Mapping[str, Any]) -> User:
        """Create or update a user (fields not sent are kept)."""
        return self._client.call(people.put_user(user_id, body))

    def get(self, user_id: str) -> User:
        """One user."""
        return self._client.call(people.get_user(user_id))


class Sellers(_Resource):
    """``/sellers``."""

    def put(self, seller_id: str, body: SellerUpsert | Mapping[str, Any]) -> Seller:
        """Create or update a seller (trust fields need the moderator scope)."""
        return self._client.call(people.put_seller(seller_id, body))

    def get(self, seller_id: str) -> Seller:
        """One seller."""
        return self._client.call(people.get_seller(seller_id))


class Events(_Resource):
    """``/events``."""

    def send(self, events: Iterable[EventIn | Mapping[str, Any]]) -> EventBatchResult:
        """Record interactions; the answer says which were accepted."""
        return self._client.call(people.post_events(events))
