"""Dashboard sessions: a random session id in an HttpOnly, SameSite=Strict cookie.

The cookie carries neither the API key nor anything derived from it: ``POST /login`` verifies
the key (:meth:`KeyStore.authenticate`), then stores the :class:`Principal` under a fresh random
id (256 bits) in memory, with a CSRF token every form of the session must return. Sessions
expire after :data:`SESSION_SECONDS` and end with ``POST /logout`` or a restart.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from crossmargin.service.keys import Principal

__all__ = ["COOKIE_NAME", "SESSION_SECONDS", "Session", "SessionStore"]

#: The session cookie's name.
COOKIE_NAME = "crossmargin_session"
#: A session's lifetime, seconds.
SESSION_SECONDS = 8 * 3600
_MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    """A logged-in browser: who it is, its CSRF token and when it expires (monotonic s)."""

    principal: Principal
    csrf_token: str
    expires: float


class SessionStore:
    """Session id → :class:`Session`, in memory (thread safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def create(self, principal: Principal) -> str:
        """A new session for ``principal``; returns its id (the cookie value)."""
        session_id = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._sessions) >= _MAX_SESSIONS:
                self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}
                while len(self._sessions) >= _MAX_SESSIONS:
                    self._sessions.pop(next(iter(self._sessions)))
            self._sessions[session_id] = Session(
                principal, secrets.token_urlsafe(32), now + SESSION_SECONDS
            )
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id``, or ``None``."""
        if not session_id:
            return None
        with self._lock:
            found = self._sessions.get(session_id)
            if found is not None and found.expires <= time.monotonic():
                del self._sessions[session_id]
                return None
            return found

    def end(self, session_id: str | None) -> None:
        """Forget ``session_id``."""
        if session_id:
            with self._lock:
                self._sessions.pop(session_id, None)

    @staticmethod
    def csrf_ok(session: Session, given: str | None) -> bool:
        """Whether ``given`` is the session's CSRF token (constant-time comparison)."""
        return given is not None and hmac.compare_digest(session.csrf_token, given)
