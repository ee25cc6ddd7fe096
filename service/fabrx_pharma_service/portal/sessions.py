"""Portal sessions: random tokens kept server-side in SQLite, each with its CSRF token.

The browser holds only the session token (cookie ``fabrx_session``: ``HttpOnly``, ``Secure``,
``SameSite=Strict``); the server stores its SHA-256, so a copy of the database cannot be replayed as a
cookie. A session ends after :data:`IDLE_TIMEOUT` without use, after :data:`MAX_AGE` in any case, and
at sign-out. Every form carries the session's CSRF token, compared in constant time. A name that failed
to sign in :data:`MAX_FAILURES` times within :data:`LOCKOUT` is refused until the failures age out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IDLE_TIMEOUT", "LOCKOUT", "MAX_AGE", "MAX_FAILURES", "Session", "SessionStore"]

IDLE_TIMEOUT = 30 * 60.0
MAX_AGE = 10 * 3600.0
MAX_FAILURES = 5
"""Failed sign-ins of one name within :data:`LOCKOUT` after which it is refused until they age out."""
LOCKOUT = 15 * 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, account TEXT NOT NULL, csrf TEXT NOT NULL,
    created_at REAL NOT NULL, used_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (name TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_name ON failures (name, at);
"""


@dataclass(frozen=True)
class Session:
    account: str
    csrf: str

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Sessions in the SQLite file ``path`` (mode 0600). Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def create(self, account: str) -> tuple[str, Session]:
        """A new session for ``account``: the token for the cookie, and the session."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (_hash(token), account, csrf, now, now)
            )
        return token, Session(account, csrf)

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie token (its idle clock restarted), or ``None``."""
        if not token:
            return None
        now = time.time()
        with self._lock:
            self._db.execute(
                "DELETE FROM sessions WHERE used_at < ? OR created_at < ?",
                (now - IDLE_TIMEOUT, now - MAX_AGE),
            )
            row = self._db.execute(
                "SELECT account, csrf FROM sessions WHERE token_hash = ?", (_hash(token),)
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE sessions SET used_at = ? WHERE token_hash = ?", (now, _hash(token)))
        return Session(row[0], row[1])

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))

    def locked(self, name: str) -> bool:
        """Whether ``name`` failed to sign in :data:`MAX_FAILURES` times within :data:`LOCKOUT`."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM failures WHERE at < ?", (now - LOCKOUT,))
            (count,) = self._db.execute("SELECT COUNT(*) FROM failures WHERE name = ?", (name,)).fetchone()
        return int(count) >= MAX_FAILURES

    def failed(self, name: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO failures VALUES (?, ?)", (name, time.time()))

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM failures WHERE name = ?", (name,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
