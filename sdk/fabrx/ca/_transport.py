"""HTTPS to one Fabric CA server over urllib3: pooled keep-alive connections, TLS verified against given
roots, optionally through an HTTP proxy (a CONNECT tunnel, so TLS still ends at the CA).

Socket, TLS, proxy and HTTP protocol failures are translated here, once, into
:class:`~fabrx.errors.CAError` naming the CA's URL (and the proxy), with the original exception chained.
"""

from __future__ import annotations

import ssl
import urllib.request
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from ..errors import ArgumentError, CAError

__all__ = ["USE_ENVIRONMENT", "HttpsTransport"]

# fabric-ca-server listens on 7054 unless told otherwise.
DEFAULT_PORT = 7054
_MAX_IDLE_CONNECTIONS = 8

USE_ENVIRONMENT = "environment"
"""``proxy=`` value: take the proxy from ``HTTPS_PROXY``/``https_proxy``, honouring ``NO_PROXY``."""


class HttpsTransport:
    """Sends requests to ``<url>/api/v1/<endpoint>``; thread-safe, reuses idle connections.

    ``proxy`` is an ``http://[user:password@]host:port`` URL, :data:`USE_ENVIRONMENT`, or ``None`` for a
    direct connection.
    """

    def __init__(
        self,
        url: str,
        *,
        tls_root_certs: bytes,
        server_name: str | None,
        timeout: float,
        proxy: str | None = USE_ENVIRONMENT,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise CAError(f"CA URL {url!r} is not usable: give https://<host>:<port> (fabrx uses TLS)")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise CAError(f"CA URL {url!r} has an invalid port") from exc
        self.url = url
        self.api_path = parts.path.rstrip("/") + "/api/v1"
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
        self._origin = f"https://{host}:{port}"
        self._server_name = server_name or parts.hostname
        self._timeout = _positive(timeout)
        pool = {
            "ssl_context": _tls_context(tls_root_certs),
            "server_hostname": self._server_name,
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            # No retries: a CA request is not idempotent (an enrollment counts), and urllib3 already
            # replaces pooled connections the server has closed before sending on them.
            "retries": False,
            "maxsize": _MAX_IDLE_CONNECTIONS,
        }
        self.proxy = _proxy_for(parts.hostname, proxy)
        self._proxy_name: str | None = None
        if self.proxy is None:
            self._pool: urllib3.PoolManager = urllib3.PoolManager(**pool)  # type: ignore[arg-type]
        else:
            proxy_parts = urllib3.util.parse_url(self.proxy)
            if proxy_parts.scheme not in ("http", "https") or not proxy_parts.host:
                raise CAError(
                    f"proxy {_without_credentials(self.proxy)!r} is not usable: give http://host:port"
                )
            headers = urllib3.make_headers(proxy_basic_auth=proxy_parts.auth) if proxy_parts.auth else None
            self._proxy_name = f"{proxy_parts.host}:{proxy_parts.port or 80}"
            self._pool = urllib3.ProxyManager(
                proxy_parts._replace(auth=None).url,
                proxy_headers=headers,
                **pool,  # type: ignore[arg-type]
            )

    def request(
        self, method: str, uri: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None
    ) -> tuple[int, bytes]:
        """Send one request (``uri`` is the full path, e.g. ``/api/v1/enroll``); return (status, body).

        ``timeout`` (seconds, default the transport's) bounds connecting and each wait for the answer.

        Raises:
            CAError: the CA (or the proxy) could not be reached, the TLS handshake failed, no answer came
                within the timeout, or no valid HTTP answer came.
            ArgumentError: ``timeout`` is not a positive number.
        """
        seconds = self._timeout if timeout is None else _positive(timeout)
        try:
            response = self._pool.request(
                method,
                self._origin + uri,
                body=body,
                headers=headers,
                redirect=False,
                timeout=urllib3.Timeout(connect=seconds, read=seconds),
            )
        except HTTPError as exc:
            raise self._unreachable(exc, seconds) from exc
        return response.status, response.data

    def close(self) -> None:
        """Close idle connections. The transport stays usable; new requests open new connections."""
        self._pool.clear()

    def _unreachable(self, exc: HTTPError, seconds: float) -> CAError:
        prefix = f"cannot reach CA at {self.url}"
        if self._proxy_name:
            prefix += f" through proxy {self._proxy_name}"
        cause = _root_cause(exc)
        if isinstance(exc, ProxyError) or (self._proxy_name and isinstance(exc, NewConnectionError)):
            return CAError(f"{prefix}: the proxy failed: {cause or type(exc).__name__}")
        if isinstance(cause, ssl.SSLCertVerificationError):
            return CAError(
                f"{prefix}: its TLS certificate failed verification ({cause.verify_message}); check "
                f"tls_root_certs and that the certificate names {self._server_name!r}"
            )
        if isinstance(exc, SSLError):
            reason = cause.reason if isinstance(cause, ssl.SSLError) and cause.reason else cause or exc
            return CAError(f"{prefix}: TLS handshake failed: {reason}")
        if isinstance(cause, ConnectionRefusedError):
            return CAError(f"{prefix}: connection refused (is the CA running?)")
        # urllib3's NewConnectionError derives from ConnectTimeoutError: only a real timeout says so.
        timed_out = isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError)
        if timed_out or isinstance(exc, ReadTimeoutError) or isinstance(cause, TimeoutError):
            return CAError(f"{prefix}: no answer within {seconds:g} s")
        return CAError(f"{prefix}: {cause or type(exc).__name__}")


def _positive(timeout: float) -> float:
    """A timeout in seconds; anything but a finite number above zero is refused before a request."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise ArgumentError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _root_cause(exc: BaseException) -> BaseException | None:
    """The innermost exception urllib3 wrapped (the socket or TLS error)."""
    seen: BaseException | None = None
    current: BaseException | None = exc
    while current is not None and current is not seen:
        seen = current
        inner = current.__cause__ or current.__context__
        if inner is None:
            for argument in getattr(current, "args", ()):
                if isinstance(argument, BaseException):
                    inner = argument
                    break
        if inner is None:
            break
        current = inner
    return seen if seen is not exc else None


def _proxy_for(host: str, proxy: str | None) -> str | None:
    if proxy != USE_ENVIRONMENT:
        return proxy
    configured = urllib.request.getproxies().get("https")
    if not configured or urllib.request.proxy_bypass(host):
        return None
    return configured


def _without_credentials(proxy: str) -> str:
    parts = urlsplit(proxy)
    return proxy if not parts.password else proxy.replace(f":{parts.password}@", ":***@", 1)


def _tls_context(tls_root_certs: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cadata=tls_root_certs.decode("ascii"))
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise CAError(f"tls_root_certs holds no usable PEM certificate: {exc}") from exc
    return context
