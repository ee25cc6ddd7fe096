"""The orderer's channel participation API: join, list, inspect and remove channels.

Each orderer serves it on its admin endpoint (``ORDERER_ADMIN_LISTENADDRESS``) as HTTPS with mutual
TLS: the client presents a TLS certificate issued by one of ``ORDERER_ADMIN_TLS_CLIENTROOTCAS``. A
channel is created by joining every orderer to it with the channel's genesis block (from
``configtxgen -outputBlock``).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdminError, ArgumentError
from ._block import channel_id_of_block

__all__ = ["ChannelInfo", "OrdererAdmin", "OrdererJoin"]

_CHANNELS_PATH = "/participation/v1/channels"


@dataclass(frozen=True)
class ChannelInfo:
    """One orderer's view of a channel.

    ``status`` is ``active``, ``onboarding``, ``inactive`` or ``failed``; ``consensus_relation`` is
    ``consenter``, ``follower``, ``config-tracker`` or ``other``; ``height`` is the block count.
    """

    name: str
    status: str
    consensus_relation: str
    height: int


@dataclass(frozen=True)
class OrdererJoin:
    """The outcome of joining an orderer to a channel; ``already_joined`` when it was a member before."""

    info: ChannelInfo
    already_joined: bool


class OrdererAdmin:
    """A client of one orderer's channel participation API (HTTPS, mutual TLS).

    ``address`` is the admin endpoint as ``host:port``; ``tls_root_certs`` (PEM) verifies the orderer's
    admin TLS certificate, ``client_cert``/``client_key`` (PEM) are presented to it. ``server_name``
    overrides the host name checked against the orderer's certificate. Each call opens and closes its
    own HTTPS connection, so the object holds no open resources.
    """

    def __init__(
        self,
        address: str,
        *,
        tls_root_certs: bytes,
        client_cert: bytes,
        client_key: bytes,
        server_name: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ArgumentError(f"orderer admin address must be host:port, not {address!r}")
        self.address = address
        self._host = host.strip("[]")
        self._port = int(port)
        self._server_name = server_name or self._host
        self._timeout = timeout
        self._context = _tls_context(tls_root_certs, client_cert, client_key)

    @classmethod
    def from_files(
        cls,
        address: str,
        *,
        tls_root_cert: str | Path,
        client_cert: str | Path,
        client_key: str | Path,
        server_name: str | None = None,
        timeout: float = 30.0,
    ) -> OrdererAdmin:
        """Like the constructor, reading the PEM material from files."""
        try:
            root, cert, key = (Path(p).read_bytes() for p in (tls_root_cert, client_cert, client_key))
        except OSError as exc:
            raise AdminError(f"cannot read orderer admin TLS material: {exc}") from exc
        return cls(
            address,
            tls_root_certs=root,
            client_cert=cert,
            client_key=key,
            server_name=server_name,
            timeout=timeout,
        )

    def join(self, block: bytes) -> OrdererJoin:
        """Join the orderer to the channel of ``block`` (a genesis or latest config block).

        Joining a channel the orderer already serves is not an error: the result says
        ``already_joined`` and carries the current channel info.

        Raises:
            AdminError: the orderer is unreachable or refused the block (its error text included).
        """
        channel_id = channel_id_of_block(block)
        boundary = "fabrx-" + os.urandom(12).hex()
        body = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="config-block"; filename="config.block"\r\n',
                b"Content-Type: application/octet-stream\r\n\r\n",
                block,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        status, text = self._request(
            "POST",
            _CHANNELS_PATH,
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            f"join channel {channel_id}",
        )
        if status == 405 and "already exists" in _error_text(text):
            return OrdererJoin(info=self.info(channel_id), already_joined=True)
        if status != 201:
            raise self._error(f"join channel {channel_id}", status, text)
        return OrdererJoin(info=_channel_info(text), already_joined=False)

    def channels(self) -> tuple[str, ...]:
        """The names of the channels the orderer serves.

        Raises:
            AdminError: the orderer is unreachable or answered with an error.
        """
        status, text = self._request("GET", _CHANNELS_PATH, None, {}, "list channels")
        if status != 200:
            raise self._error("list channels", status, text)
        try:
            channels = json.loads(text).get("channels") or []
            return tuple(str(channel["name"]) for channel in channels)
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise AdminError(f"orderer {self.address}: unexpected channel list {text[:200]!r}") from exc

    def info(self, channel_id: str) -> ChannelInfo:
        """The orderer's status for one channel.

        Raises:
            AdminError: the orderer is unreachable or does not serve the channel (404).
        """
        status, text = self._request(
            "GET", self._channel_path(channel_id), None, {}, f"channel {channel_id} info"
        )
        if status != 200:
            raise self._error(f"channel {channel_id} info", status, text)
        return _channel_info(text)

    def remove(self, channel_id: str) -> None:
        """Remove the channel from the orderer (its ledger is deleted).

        Raises:
            AdminError: the orderer is unreachable, does not serve the channel, or refused.
        """
        status, text = self._request(
            "DELETE", self._channel_path(channel_id), None, {}, f"remove channel {channel_id}"
        )
        if status != 204:
            raise self._error(f"remove channel {channel_id}", status, text)

    def _channel_path(self, channel_id: str) -> str:
        return f"{_CHANNELS_PATH}/{urllib.parse.quote(channel_id, safe='')}"

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], action: str
    ) -> tuple[int, str]:
        connection = _Connection(self._host, self._port, self._context, self._server_name, self._timeout)
        try:
            connection.request(method, path, body=body, headers={"Accept": "application/json", **headers})
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        except ssl.SSLError as exc:
            raise AdminError(
                f"{action}: TLS handshake with orderer admin endpoint {self.address} failed: {exc} "
                "(the orderer must trust the client certificate's CA in ORDERER_ADMIN_TLS_CLIENTROOTCAS, "
                "and tls_root_certs must hold the CA of the orderer's admin TLS certificate)"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise AdminError(f"{action}: cannot reach orderer admin endpoint {self.address}: {exc}") from exc
        finally:
            connection.close()

    def _error(self, action: str, status: int, text: str) -> AdminError:
        return AdminError(f"{action} failed at orderer {self.address} (HTTP {status}): {_error_text(text)}")


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection that checks the certificate against ``server_name`` instead of the host."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext, server_name: str, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._tls_context = context
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls_context.wrap_socket(sock, server_hostname=self._server_name)


def _tls_context(root_certs: bytes, client_cert: bytes, client_key: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cadata=root_certs.decode())
        # ssl loads client credentials only from files: write them to a private temporary folder
        # that exists for the duration of this call.
        with tempfile.TemporaryDirectory(prefix="fabrx-tls-") as folder:
            cert_path = Path(folder, "cert.pem")
            key_path = Path(folder, "key.pem")
            cert_path.write_bytes(client_cert)
            key_fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(key_fd, "wb") as key_file:
                key_file.write(client_key)
            context.load_cert_chain(cert_path, key_path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise AdminError(
            f"unusable orderer admin TLS material (PEM root CA, client certificate, key): {exc}"
        ) from exc
    return context


def _error_text(text: str) -> str:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text.strip() or "(empty answer)"
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return str(parsed["error"])
    return text.strip()


def _channel_info(text: str) -> ChannelInfo:
    try:
        parsed = json.loads(text)
        return ChannelInfo(
            name=str(parsed["name"]),
            status=str(parsed.get("status", "")),
            consensus_relation=str(parsed.get("consensusRelation", "")),
            height=int(parsed.get("height", 0)),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AdminError(f"unexpected channel info from orderer: {text[:200]!r}") from exc
