"""The service's own durable state in one SQLite file: seen nonces and idempotent write outcomes.

Nonces are remembered per application for the replay window. An idempotency key is remembered per
application with the fingerprint of the request it came with (method, path and SHA-256 of the body)
and, once the write finished, the status and body that were answered. Only final answers are kept
(success, and refusals the same request would get again); a network failure releases the key so the
retry runs the write again.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import Conflict

__all__ = ["IDEMPOTENCY_RETENTION", "PENDING_TIMEOUT", "ServiceState", "StoredResponse", "fingerprint"]

IDEMPOTENCY_RETENTION = 7 * 24 * 3600.0
"""Seconds an idempotency key's answer is kept (a week: an ERP retries within hours, not weeks)."""
PRUNE_INTERVAL = 1.0
"""Seconds between two deletions of expired nonces."""
PENDING_TIMEOUT = 300.0
"""Seconds after which a write that never finished (the service stopped mid-way) may be run again."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    app_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_at REAL NOT NULL, PRIMARY KEY (app_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_at);
CREATE TABLE IF NOT EXISTS idempotency (
    app_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, started_at REAL NOT NULL,
    status INTEGER, body BLOB, PRIMARY KEY (app_id, key)
);
"""


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests under one idempotency key "the same": method, path and body."""
    return hashlib.sha256(f"{method} {path}\n".encode() + hashlib.sha256(body).digest()).hexdigest()


class ServiceState:
    """Nonces and idempotency records in the SQLite file ``path`` (mode 0600). Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A commit reaches the operating system before the request goes on, so a crash of the service
        # loses nothing; only a crash of the machine can lose the last commits (WAL without a sync per
        # commit). Then a nonce of the last moments may be accepted once more, and an idempotency key
        # may run its write again, which the chaincode answers with the anchor already written (or
        # refuses as a duplicate): the ledger never takes a write twice. A sync per commit, under the
        # lock, cost tens of milliseconds per request on a busy disk (docs/benchmarks.md).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._pruned = 0.0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- nonces -------------------------------------------------------------------------------------------

    def remember(self, app_id: str, nonce: str, *, now: float, since: float) -> bool:
        """Record a nonce; ``False`` if this application used it after ``since``."""
        with self._lock:
            # Expired nonces go at most once a second: the insert below checks (app, nonce) only, so
            # an expired row left a moment longer refuses nothing a fresh signature would send.
            if now - self._pruned >= PRUNE_INTERVAL:
                self._db.execute("DELETE FROM nonces WHERE seen_at < ?", (since,))
                self._pruned = now
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO nonces (app_id, nonce, seen_at) VALUES (?, ?, ?)", (app_id, nonce, now)
            )
            return inserted.rowcount == 1

    # --- idempotency --------------------------------------------------------------------------------------

    def begin(self, app_id: str, key: str, print_: str) -> StoredResponse | None:
        """Claim an idempotency key for a write about to run, or return the answer already given.

        Raises :class:`Conflict` if the key was used with another request (``IDEMPOTENCY_CONFLICT``) or
        the first request with it is still running (``IDEMPOTENCY_IN_PROGRESS``: retry later).
        """
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM idempotency WHERE started_at < ?", (now - IDEMPOTENCY_RETENTION,)
                )
                row = self._db.execute(
                    "SELECT fingerprint, started_at, status, body FROM idempotency "
                    "WHERE app_id = ? AND key = ?",
                    (app_id, key),
                ).fetchone()
                if row is None or (row[2] is None and row[1] < now - PENDING_TIMEOUT):
                    self._db.execute(
                        "INSERT OR REPLACE INTO idempotency (app_id, key, fingerprint, started_at) "
                        "VALUES (?, ?, ?, ?)",
                        (app_id, key, print_, now),
                    )
                    return None
            finally:
                self._db.execute("COMMIT")
        if row[0] != print_:
            raise Conflict(
                "IDEMPOTENCY_CONFLICT",
                "Idempotency-Key",
                "this key was used with another request: use a new key for a new write",
            )
        if row[2] is None:
            raise Conflict(
                "IDEMPOTENCY_IN_PROGRESS",
                "Idempotency-Key",
                "the first request with this key is still running",
            )
        return StoredResponse(int(row[2]), bytes(row[3]))

    def finish(self, app_id: str, key: str, response: StoredResponse | None) -> None:
        """Store the final answer of a claimed key, or release the key (``None``) so a retry runs again."""
        with self._lock:
            if response is None:
                self._db.execute(
                    "DELETE FROM idempotency WHERE app_id = ? AND key = ? AND status IS NULL", (app_id, key)
                )
            else:
                self._db.execute(
                    "UPDATE idempotency SET status = ?, body = ? WHERE app_id = ? AND key = ?",
                    (response.status, response.body, app_id, key),
                )
