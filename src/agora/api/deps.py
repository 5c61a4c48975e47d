"""FastAPI dependencies: the platform, the authenticated principal, scopes.

Authentication is declared to OpenAPI as one HTTP bearer scheme (``bearerAuth``);
each operation lists the scope it needs as the requirement's role (OpenAPI 3.1
allows roles on non-OAuth schemes), so Swagger UI can send a key and a
generated client knows which key to use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from agora.domain import Scope
from agora.errors import Forbidden, Unauthenticated
from agora.runtime import Platform
from agora.security.keys import Principal

ANONYMOUS_ADMIN = Principal("anonymous", frozenset({Scope.ADMIN.value}))
BEARER_SCHEME = "bearerAuth"

bearer = HTTPBearer(
    scheme_name=BEARER_SCHEME,
    bearerFormat="agora_<id>_<secret>",
    description=(
        "An Agora API key: `Authorization: Bearer agora_<id>_<secret>`. Scopes form a "
        "hierarchy, admin > moderator > write > read; each operation names the lowest "
        "scope it needs."
    ),
    auto_error=False,  # a missing key is our own 401 problem, not FastAPI's 403
)


# Dependencies that do no I/O are ``async`` so FastAPI calls them on the event
# loop; a sync dependency costs a thread-pool hop on every request.
async def get_platform(request: Request) -> Platform:
    """The process's platform (built once at start-up)."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Resolve ``Authorization: Bearer <key>``, check the operation's scope, apply
    the key's rate limit."""
    platform: Platform = request.app.state.platform
    if not platform.settings.security.auth_enabled:
        return ANONYMOUS_ADMIN
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    principal = platform.keys.authenticate(credentials.credentials.strip())
    for scope in security_scopes.scopes:
        if not principal.has(scope):
            raise Forbidden(f"this operation needs the {scope!r} scope")
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        limiter.check(principal)
    request.state.principal = principal
    return principal


def require(scope: Scope) -> Callable[..., Awaitable[Principal] | Principal]:
    """The scope dependency as a plain callable (for ``dependencies=[...]`` lists)."""
    return Security(authenticate, scopes=[scope.value])  # type: ignore[no-any-return]


Authenticated = Annotated[Principal, Security(authenticate)]
Reader = Annotated[Principal, Security(authenticate, scopes=[Scope.READ.value])]
Writer = Annotated[Principal, Security(authenticate, scopes=[Scope.WRITE.value])]
Moderator = Annotated[Principal, Security(authenticate, scopes=[Scope.MODERATOR.value])]
Admin = Annotated[Principal, Security(authenticate, scopes=[Scope.ADMIN.value])]
