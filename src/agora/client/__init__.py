"""The Python SDK for Agora's HTTP API, typed with the server's own schemas.

Sync and async clients with the same resource groups (``assets``, ``users``,
``sellers``, ``events``, ``jobs``, ``search``, ``recommendations``, ``tags``,
``moderation``, ``models``, ``pipelines``, ``scheduler``, ``orchestrator``,
``features``, ``overrides``, ``audit``, ``webhooks``, ``keys``). Answers are the
Pydantic models of ``agora.api.schemas``; errors are ``ApiError`` subclasses.

Example:
    >>> from agora.client import Client
    >>> with Client("http://127.0.0.1:8000", api_key=KEY) as agora:  # doctest: +SKIP
    ...     created = agora.assets.create({"title": "Tank", "seller_id": "s1"},
    ...                                   images=["tank.png"])
    ...     job = agora.jobs.wait(created.job_id)

    >>> async with AsyncClient() as agora:  # AGORA_URL, AGORA_KEY  # doctest: +SKIP
    ...     page = await agora.assets.list(status="active")
"""

from agora.client._async.client import AsyncClient
from agora.client._sync.client import Client
from agora.client.call import Call, RetryPolicy
from agora.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Call",
    "Client",
    "ConflictError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "UnsupportedMediaTypeError",
    "ValidationFailedError",
]
