"""Who is using the console, what their key allows, and the CSRF check.

Every console route depends on :func:`operator`: it resolves the session
cookie, re-authenticates the session's key (a revoked key stops working on the
next click) and applies the key's rate limit, like the API does. A route that
needs more than ``read`` declares it with :func:`need`; forms and htmx posts
also depend on :func:`csrf_checked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from agora.console.session import COOKIE, ConsoleSession, SessionStore
from agora.domain import Scope
from agora.errors import Unauthenticated
from agora.runtime import Platform
from agora.security.keys import Principal

ANONYMOUS = Principal("anonymous", frozenset({Scope.ADMIN.value}))
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# Sent by elements that refresh themselves (hx-headers): not activity for idle expiry.
POLL_HEADER = "x-console-poll"


class SignInRequired(Exception):
    """No live session: the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in to use the console")
        self.next_path = next_path


class ScopeMissing(Exception):
    """The key lacks the scope a page or action needs (rendered as a 403 page)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(f"this page needs a key with the {scope.value!r} scope")
        self.scope = scope


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


@dataclass(frozen=True)
class Operator:
    """The signed-in key and its session (None when auth is off)."""

    principal: Principal
    session: ConsoleSession | None
    platform: Platform

    def can(self, scope: Scope | str) -> bool:
        """Whether the key's scopes imply ``scope``."""
        return self.principal.has(scope.value if isinstance(scope, Scope) else scope)

    @property
    def actor(self) -> str:
        """The audit log's name for this key."""
        return self.principal.actor

    @property
    def csrf(self) -> str:
        """This session's CSRF token ('' when auth is off: nothing to forge)."""
        return self.session.csrf if self.session is not None else ""


def sessions(request: Request) -> SessionStore:
    """The app's console session store."""
    store: SessionStore = request.app.state.console_sessions
    return store


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return quote(path, safe="/?=&")


def operator(request: Request) -> Operator:
    """The console user, or :class:`SignInRequired`."""
    platform: Platform = request.app.state.platform
    if not platform.settings.security.auth_enabled:
        return Operator(ANONYMOUS, None, platform)
    store = sessions(request)
    polling = request.headers.get(POLL_HEADER) is not None
    session = store.get(request.cookies.get(COOKIE), touch=not polling)
    if session is None:
        raise SignInRequired(_next_path(request))
    try:
        principal = platform.keys.authenticate(session.token)
    except Unauthenticated:
        store.close(request.cookies.get(COOKIE))
        raise SignInRequired(_next_path(request)) from None
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        limiter.check(principal)
    request.state.principal = principal
    return Operator(principal, session, platform)


OperatorDep = Annotated[Operator, Depends(operator)]


def need(scope: Scope) -> object:
    """A dependency that refuses keys without ``scope``."""

    def check(op: OperatorDep) -> Operator:
        if not op.can(scope):
            raise ScopeMissing(scope)
        return op

    return Depends(check)


async def csrf_checked(request: Request, op: OperatorDep) -> Operator:
    """The operator, once the request carries the session's CSRF token (form
    field ``csrf`` or header ``X-CSRF-Token``, which htmx sends)."""
    if op.session is None:
        return op
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not op.session.csrf_ok(sent):
        raise CsrfRefused("this form has expired or was not sent by the console: reload it")
    return op


CheckedDep = Annotated[Operator, Depends(csrf_checked)]
Reader = Annotated[Operator, need(Scope.READ)]
Writer = Annotated[Operator, need(Scope.WRITE)]
Moderator = Annotated[Operator, need(Scope.MODERATOR)]
Admin = Annotated[Operator, need(Scope.ADMIN)]
