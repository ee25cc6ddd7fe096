"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary directory, a server
on a free loopback port, stopped and deleted at the end.

Uses the server binaries of Debian's ``postgresql`` package (``make postgres`` installs it). PostgreSQL
refuses to run as root, so under root the cluster belongs to the ``postgres`` system user the package
creates (commands run through ``runuser``). The superuser's password is random, kept in a 0600 file in
the cluster's 0700 directory, and the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import pwd
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

from .errors import StoreUnavailable

__all__ = ["TemporaryPostgres", "find_postgres_bin"]

_SUPERUSER = "fabrx"
_PORTS = (20000, 26999)
"""Below Linux's ephemeral range (32768-60999), so no outgoing connection takes the port meanwhile, and
below the ports fabrx's test consortiums allocate (27050 and up), so a cluster that runs while a test
brings a network up never holds one of its nodes' ports."""


def find_postgres_bin() -> Path:
    """The directory of ``initdb``/``pg_ctl``: the newest ``/usr/lib/postgresql/<version>/bin``, else
    ``PATH``. Raises :class:`StoreUnavailable` naming ``make postgres`` if there is none."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise StoreUnavailable("PostgreSQL server binaries not found: run `make postgres` (Debian's postgresql)")


def _free_port() -> int:
    low, high = _PORTS
    start = random.randint(low, high)
    for offset in range(high - low + 1):
        port = low + (start - low + offset) % (high - low + 1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StoreUnavailable(f"no free TCP port on 127.0.0.1 between {low} and {high}")


class TemporaryPostgres:
    """A private PostgreSQL server for the life of a ``with`` block (or :meth:`start`/:meth:`stop`)."""

    def __init__(self) -> None:
        self._bin = find_postgres_bin()
        self._root: Path | None = None
        self._owner: pwd.struct_passwd | None = None
        self._password = secrets.token_urlsafe(24)
        self.port = 0
        self._databases = 0

    def _run(self, argv: Sequence[str]) -> None:
        command = list(argv)
        if self._owner is not None:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise StoreUnavailable(
                f"{Path(argv[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}"
            )

    def start(self) -> TemporaryPostgres:
        """initdb and start the server; raises :class:`StoreUnavailable` if either fails."""
        self._owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="fabrx-pg-"))
        self._root = root
        if self._owner is not None:
            os.chown(root, self._owner.pw_uid, self._owner.pw_gid)
        root.chmod(0o700)
        password_file = root / "password"
        password_file.write_text(self._password, encoding="utf-8")
        password_file.chmod(0o600)
        if self._owner is not None:
            os.chown(password_file, self._owner.pw_uid, self._owner.pw_gid)
        data = root / "data"
        self._run(
            [
                str(self._bin / "initdb"),
                "-D",
                str(data),
                "-U",
                _SUPERUSER,
                "--pwfile",
                str(password_file),
                "-A",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        )
        self._run(
            [
                str(self._bin / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        )
        return self

    def stop(self) -> None:
        """Stop the server and delete its directory (safe to call twice)."""
        if self._root is None:
            return
        try:
            if (self._root / "data" / "postmaster.pid").exists():
                self._run(
                    [str(self._bin / "pg_ctl"), "-D", str(self._root / "data"), "-m", "fast", "-w", "stop"]
                )
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of a database on this server (with the superuser's password)."""
        return sa.URL.create(
            "postgresql",
            username=_SUPERUSER,
            password=self._password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    def create_database(self) -> str:
        """Create a fresh, empty database; return its URL."""
        self._databases += 1
        name = f"store_{self._databases}"
        engine = sa.create_engine(
            sa.make_url(self.url()).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)
