"""Running the service: where its files live, its TLS material, and the uvicorn server.

A service keeps its files in one folder (mode 0700), by default ``<run dir>/service/<Org>``:
``applications.json`` (registered applications), ``state.sqlite`` (nonces, idempotency),
``audit.jsonl`` (the audit log), ``portal_accounts.json`` and ``portal_sessions.sqlite`` (the portal's
people and sessions) and, unless the member's own TLS files are given, ``tls/`` with a
certificate generated on first start (ECDSA P-256, for ``localhost`` and ``127.0.0.1``; key mode 0600).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi import FastAPI

from .applications import write_private

__all__ = ["KEEP_ALIVE_SECONDS", "BackgroundServer", "ServiceFiles", "TlsFiles", "run", "self_signed_tls"]

KEEP_ALIVE_SECONDS = 60
"""How long an idle client connection stays open (uvicorn's default is 5 s). An ERP sends in bursts
with pauses longer than that; each new connection costs a TLS handshake, which cost the service more
CPU than a signed request's whole handling when clients reconnected after every pause
(docs/benchmarks.md)."""


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    private_key: Path


@dataclass(frozen=True)
class ServiceFiles:
    """The files of one service under ``directory``."""

    directory: Path

    @property
    def applications(self) -> Path:
        return self.directory / "applications.json"

    @property
    def state(self) -> Path:
        return self.directory / "state.sqlite"

    @property
    def audit(self) -> Path:
        return self.directory / "audit.jsonl"

    @property
    def accounts(self) -> Path:
        return self.directory / "portal_accounts.json"

    @property
    def sessions(self) -> Path:
        return self.directory / "portal_sessions.sqlite"

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.directory / "tls" / "server.crt", self.directory / "tls" / "server.key")


def self_signed_tls(files: TlsFiles, *, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> TlsFiles:
    """Make a self-signed server certificate for ``hosts`` unless ``files`` exist; return ``files``.

    Clients trust the certificate file itself (``curl --cacert``, ``NODE_EXTRA_CA_CERTS``). For
    production give the member's TLS certificate and key instead.
    """
    if files.certificate.exists() and files.private_key.exists():
        return files
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fabrx pharma service")])
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(
        files.private_key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    write_private(files.certificate, certificate.public_bytes(serialization.Encoding.PEM))
    files.certificate.chmod(0o644)
    return files


def run(app: FastAPI, *, host: str, port: int, tls: TlsFiles) -> None:
    """Serve ``app`` over HTTPS until interrupted. uvicorn's access log is off: it would write query
    strings (a patient pseudonym in ``/v1/traces``); the audit log records every request instead."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls.certificate),
        ssl_keyfile=str(tls.private_key),
        access_log=False,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


class BackgroundServer:
    """The service served by uvicorn in a background thread (tests, or a process embedding it).

    ``with BackgroundServer(app, tls=files) as server: server.url`` — listens on ``host`` and ``port``
    (0: a free port, read back as :attr:`port`); leaving the block stops it and waits for the thread.
    """

    def __init__(self, app: FastAPI, *, tls: TlsFiles, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            ssl_certfile=str(tls.certificate),
            ssl_keyfile=str(tls.private_key),
            access_log=False,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fabrx-service", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT)


STARTUP_TIMEOUT = 60.0
"""Seconds to wait for the server thread to start listening (or to stop)."""
