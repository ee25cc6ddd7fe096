"""The audit log: who did what through the service, one JSON line per request.

Each line names the application, the Fabric identity it acted through, the operation, the record key
(an invoice number, a prescription id — never a patient pseudonym, a description or a line of a
record), the Fabric transaction id and the outcome (HTTP status and code). The file is appended to
with mode 0600; lines are written whole under a lock, so concurrent requests never interleave.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["AuditEntry", "AuditLog"]


@dataclass(frozen=True)
class AuditEntry:
    app_id: str
    identity: str
    operation: str
    record_key: str
    transaction_id: str
    status: int
    outcome: str
    """``ok``, or the refusal's code (``CONSERVATION``, ``SIGNATURE``, ``FORBIDDEN`` ...)."""
    time: str = ""


class AuditLog:
    """Appends :class:`AuditEntry` lines to ``path`` (JSON Lines, mode 0600, folder 0700)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        stamped = entry if entry.time else AuditEntry(**{**asdict(entry), "time": _now()})
        line = json.dumps(asdict(stamped), ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def entries(self) -> list[AuditEntry]:
        """Every entry so far (for tests and the admin's review)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [AuditEntry(**json.loads(line)) for line in handle if line.strip()]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
