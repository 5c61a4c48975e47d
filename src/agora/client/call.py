"""One API call described as data, executed by the sync or the async client.

Resource methods build a ``Call`` (method, path, parameters, body, and the
schema that parses the answer); ``Client`` and ``AsyncClient`` send it with
the same retry policy and error mapping, so the two clients cannot drift.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import httpx
from pydantic import BaseModel, TypeAdapter

from agora.client.errors import ApiError, error_for, retry_after_seconds

T = TypeVar("T")
API_PREFIX = "/api/v1"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and how to read its answer (``schema``: a model, a type, or
    ``None`` for an empty answer; ``raw``: return the bytes)."""

    method: str
    path: str
    schema: Any = None
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    raw: bool = False

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The httpx request (query parameters that are ``None`` are left out)."""
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        return http.build_request(
            self.method,
            self.path if self.path.startswith("/") else f"{API_PREFIX}/{self.path}",
            params=params or None,
            json=self.json,
            data=self.data,
            files=self.files,
            content=self.content,
            headers=self.headers,
        )

    def parse(self, response: httpx.Response) -> T:
        """The answer as ``schema``; problem+json raises the matching ``ApiError``."""
        if response.status_code >= 400:
            raise _error(response)
        if self.raw:
            return cast(T, response.content)
        if self.schema is None or response.status_code == 204 or not response.content:
            return cast(T, None)
        body = response.json()
        if isinstance(self.schema, type) and issubclass(self.schema, BaseModel):
            return cast(T, self.schema.model_validate(body))
        return cast(T, TypeAdapter(self.schema).validate_python(body))


def _error(response: httpx.Response) -> ApiError:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {
            "status": response.status_code,
            "title": response.reason_phrase,
            "detail": response.text[:500] or response.reason_phrase,
        }
    return error_for(response.status_code, problem, dict(response.headers))


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for answers that say "try again": 429 and 503 (honouring
    ``Retry-After``), and, for idempotent methods, connection errors.

    Delays grow exponentially with full jitter, capped at ``max_delay_s``; a
    server's ``Retry-After`` wins when it is larger.
    """

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 503}))

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based), or ``None``
        when the answer is final."""
        if attempt > self.max_retries:
            return None
        if response is not None and response.status_code not in self.statuses:
            return None
        backoff = random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))
        told = retry_after_seconds(response.headers.get("retry-after")) if response else None
        return min(self.max_delay_s, max(backoff, told or 0.0))

    def retries_errors_of(self, method: str) -> bool:
        """Whether a connection error may be retried (the request may have run)."""
        return method.upper() in IDEMPOTENT


NO_RETRIES = RetryPolicy(max_retries=0)
