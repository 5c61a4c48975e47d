"""Server-side console sessions: an API key pasted once, kept in server memory.

The browser holds only a random session id (an HttpOnly, SameSite=Strict
cookie, Secure over TLS); the key never goes back to it. A session expires
after ``idle_s`` without a request, and each carries its own CSRF token for
the forms it renders. Sessions live in the serving process's memory: a
restart signs everyone out, which is the safe failure for an operator tool
(with several uvicorn workers, run the console behind sticky sessions).

Example:
    >>> store = SessionStore(idle_s=60)
    >>> sid, session = store.open("agora_k1_secret", "k1")
    >>> store.get(sid).key_id
    'k1'
    >>> store.close(sid); store.get(sid) is None
    True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "agora_console"
MAX_SESSIONS = 10_000  # bounded memory: the oldest idle sessions go first


@dataclass
class ConsoleSession:
    """One signed-in browser: the key it signed in with and its CSRF token."""

    token: str
    key_id: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = 0.0

    def csrf_ok(self, sent: str | None) -> bool:
        """Whether a form's token is this session's (constant-time)."""
        return bool(sent) and hmac.compare_digest(self.csrf, sent or "")


def _digest(sid: str) -> str:
    # Keyed by the id's hash: the table never holds a usable cookie value.
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """Sessions by cookie id, with idle expiry."""

    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, ConsoleSession] = {}

    def open(self, token: str, key_id: str) -> tuple[str, ConsoleSession]:
        """A new session for a verified key; returns the cookie value and the session."""
        sid = secrets.token_urlsafe(32)
        session = ConsoleSession(token=token, key_id=key_id, last_seen=self.clock())
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen)
                del self._sessions[oldest]
            self._sessions[_digest(sid)] = session
        return sid, session

    def get(self, sid: str | None, *, touch: bool = True) -> ConsoleSession | None:
        """The live session for a cookie value (None: unknown or idle too long);
        a hit counts as activity unless ``touch`` is false (a page polling itself
        is not a person clicking)."""
        if not sid:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(_digest(sid))
            if session is None:
                return None
            if now - session.last_seen > self.idle_s:
                del self._sessions[_digest(sid)]
                return None
            if touch:
                session.last_seen = now
            return session

    def close(self, sid: str | None) -> None:
        """Forget a session (sign-out)."""
        if sid:
            with self._lock:
                self._sessions.pop(_digest(sid), None)

    def close_key(self, key_id: str) -> int:
        """Forget every session of a key (it was revoked); returns how many."""
        with self._lock:
            gone = [k for k, s in self._sessions.items() if s.key_id == key_id]
            for k in gone:
                del self._sessions[k]
        return len(gone)
