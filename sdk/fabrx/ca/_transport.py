"""HTTPS to one Fabric CA server: keep-alive connections, TLS verified against given roots.

Socket, TLS and HTTP protocol failures are translated here, once, into :class:`~fabrx.errors.CAError`
naming the CA's URL, with the original exception chained.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from urllib.parse import urlsplit

from ..errors import CAError

__all__ = ["HttpsTransport"]

# fabric-ca-server listens on 7054 unless told otherwise.
DEFAULT_PORT = 7054
_MAX_IDLE_CONNECTIONS = 8


class _TlsConnection(http.client.HTTPConnection):
    """An HTTP connection wrapped in TLS with a chosen server name (SNI and host name check)."""

    default_port = 443

    def __init__(
        self, host: str, port: int, *, context: ssl.SSLContext, server_name: str, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._tls_context = context
        self._server_name = server_name

    def connect(self) -> None:
        super().connect()
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._server_name)


class HttpsTransport:
    """Sends requests to ``<url>/api/v1/<endpoint>``; thread-safe, reuses idle connections."""

    def __init__(self, url: str, *, tls_root_certs: bytes, server_name: str | None, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise CAError(f"CA URL {url!r} is not usable: give https://<host>:<port> (fabrx uses TLS)")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise CAError(f"CA URL {url!r} has an invalid port") from exc
        self.url = url
        self.api_path = parts.path.rstrip("/") + "/api/v1"
        self._host = parts.hostname
        self._port = port
        self._server_name = server_name or parts.hostname
        self._timeout = timeout
        self._context = _tls_context(tls_root_certs)
        self._idle: list[_TlsConnection] = []
        self._lock = threading.Lock()

    def request(self, method: str, uri: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send one request (``uri`` is the full path, e.g. ``/api/v1/enroll``); return (status, body).

        Raises:
            CAError: the CA could not be reached, the TLS handshake failed or no valid HTTP answer came.
        """
        connection, reused = self._take()
        try:
            try:
                status, data, keep = _exchange(connection, method, uri, body, headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                if not reused:
                    raise
                # The server closed an idle keep-alive connection before reading this request: the
                # request was not processed, so it is safe to send it again on a new connection.
                connection.close()
                connection = self._new_connection()
                status, data, keep = _exchange(connection, method, uri, body, headers)
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            raise CAError(
                f"cannot reach CA at {self.url}: its TLS certificate failed verification "
                f"({exc.verify_message}); check tls_root_certs and that the certificate names "
                f"{self._server_name!r}"
            ) from exc
        except ssl.SSLError as exc:
            connection.close()
            raise CAError(
                f"cannot reach CA at {self.url}: TLS handshake failed: {exc.reason or exc}"
            ) from exc
        except TimeoutError as exc:
            connection.close()
            raise CAError(f"cannot reach CA at {self.url}: no answer within {self._timeout:g} s") from exc
        except ConnectionRefusedError as exc:
            connection.close()
            raise CAError(f"cannot reach CA at {self.url}: connection refused (is the CA running?)") from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise CAError(f"cannot reach CA at {self.url}: {exc or type(exc).__name__}") from exc
        if keep:
            self._give_back(connection)
        else:
            connection.close()
        return status, data

    def close(self) -> None:
        """Close idle connections. The transport stays usable; new requests open new connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _new_connection(self) -> _TlsConnection:
        return _TlsConnection(
            self._host,
            self._port,
            context=self._context,
            server_name=self._server_name,
            timeout=self._timeout,
        )

    def _take(self) -> tuple[_TlsConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new_connection(), False

    def _give_back(self, connection: _TlsConnection) -> None:
        with self._lock:
            if len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()


def _exchange(
    connection: _TlsConnection, method: str, uri: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes, bool]:
    connection.request(method, uri, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, data, not response.will_close


def _tls_context(tls_root_certs: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cadata=tls_root_certs.decode("ascii"))
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise CAError(f"tls_root_certs holds no usable PEM certificate: {exc}") from exc
    return context
