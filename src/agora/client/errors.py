"""Problem+json answers raised as typed exceptions.

Each class also derives from the server's own error class in
``agora.errors``, so code that handles ``agora.errors.NotFound`` works the
same against a local platform and a remote server.

Example:
    >>> err = error_for(404, {"type": "https://agora.dev/problems/not-found",
    ...                       "title": "Not found", "status": 404, "detail": "no asset 'x'"})
    >>> isinstance(err, NotFoundError), isinstance(err, errors.NotFound), err.detail
    (True, True, "no asset 'x'")
"""

from __future__ import annotations

from typing import Any

from agora import errors


class ApiError(errors.AgoraError):
    """An error answer from the server: ``status``, ``type``, ``title``, ``detail``
    and the whole ``problem`` body (extra members such as ``errors``)."""

    def __init__(self, status: int, problem: dict[str, Any], headers: dict[str, str] | None = None):
        detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(detail)
        self.status = status
        self.problem = problem
        self.type = str(problem.get("type", "about:blank"))
        self.title = str(problem.get("title", ""))
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}" if self.title else self.detail


class BadRequestError(ApiError, errors.MalformedRequest):
    """400: the request could not be parsed."""


class AuthenticationError(ApiError, errors.Unauthenticated):
    """401: missing, unknown or revoked API key."""


class PermissionDeniedError(ApiError, errors.Forbidden):
    """403: the key lacks the scope, or consent forbids the processing."""


class NotFoundError(ApiError, errors.NotFound):
    """404: an id that does not exist."""


class ConflictError(ApiError, errors.Conflict):
    """409: the request conflicts with the current state."""


class PayloadTooLargeError(ApiError, errors.PayloadTooLarge):
    """413: an upload or body over a configured limit."""


class UnsupportedMediaTypeError(ApiError, errors.UnsupportedMediaType):
    """415: a file whose sniffed type is not accepted."""


class ValidationFailedError(ApiError, errors.InvalidInput):
    """422: well-formed but invalid; ``errors`` lists each problem."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        found = self.problem.get("errors")
        return found if isinstance(found, list) else []


class RateLimitError(ApiError, errors.RateLimited):
    """429: over the key's rate limit; ``retry_after`` is in seconds."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))


class ServiceUnavailableError(ApiError, errors.BackendUnavailable):
    """503: a backend is down (or the server is starting)."""


class ServerError(ApiError):
    """Any other 5xx."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationFailedError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_for(
    status: int, problem: dict[str, Any], headers: dict[str, str] | None = None
) -> ApiError:
    """The exception for an error answer (``ServerError`` for other 5xx)."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, problem, headers)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date.

    >>> retry_after_seconds("3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
