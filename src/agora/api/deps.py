"""FastAPI dependencies: the platform, the authenticated principal, scopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from agora.domain import Scope
from agora.errors import Forbidden, Unauthenticated
from agora.runtime import Platform
from agora.security.keys import Principal

ANONYMOUS_ADMIN = Principal("anonymous", frozenset({Scope.ADMIN.value}))


# Dependencies that do no I/O are ``async`` so FastAPI calls them on the event
# loop; a sync dependency costs a thread-pool hop on every request.
async def get_platform(request: Request) -> Platform:
    """The process's platform (built once at start-up)."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def authenticate(request: Request) -> Principal:
    """Resolve ``Authorization: Bearer <key>``; apply the key's rate limit."""
    platform: Platform = request.app.state.platform
    if not platform.settings.security.auth_enabled:
        return ANONYMOUS_ADMIN
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    principal = platform.keys.authenticate(token.strip())
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        limiter.check(principal)
    request.state.principal = principal
    return principal


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must hold ``scope`` (or admin)."""

    async def _dep(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.has(scope.value):
            raise Forbidden(f"this operation needs the {scope.value!r} scope")
        return principal

    return _dep


Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Moderator = Annotated[Principal, Depends(require(Scope.MODERATOR))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
