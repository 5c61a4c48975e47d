"""Exception hierarchy; the API maps each class to an RFC 9457 problem+json response.

Capabilities raise these; they never import HTTP types.
"""

from __future__ import annotations

from typing import Any


class AgoraError(Exception):
    """Base error. ``status`` is the HTTP status the API answers with."""

    status: int = 500
    type_slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(AgoraError):
    """The request is well-formed but its content is invalid."""

    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class MalformedRequest(AgoraError):
    """The request body cannot be parsed (bad JSON, bad multipart)."""

    status = 400
    type_slug = "malformed-request"
    title = "Malformed request"


class NotFound(AgoraError):
    """An id that does not exist."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(AgoraError):
    """The request conflicts with the current state."""

    status = 409
    type_slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(AgoraError):
    """An upload or request body exceeds a configured limit."""

    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(AgoraError):
    """A file whose sniffed content type is not accepted."""

    status = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported media type"


class Unauthenticated(AgoraError):
    """No API key, or an invalid one."""

    status = 401
    type_slug = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(AgoraError):
    """The key lacks the scope, or consent forbids the processing."""

    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class RateLimited(AgoraError):
    """The key is over its rate limit or quota."""

    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"


class Overloaded(AgoraError):
    """The platform is busy (a full pipeline backlog): retry after ``retry_after`` s."""

    status = 503
    type_slug = "overloaded"
    title = "Service overloaded"


class BackendUnavailable(AgoraError):
    """A backend (database, index, bus) cannot be reached."""

    status = 503
    type_slug = "backend-unavailable"
    title = "Backend unavailable"
