"""Where a Fabric node listens and how to reach it over (mutual) TLS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from .errors import ArgumentError

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Endpoint",
    "channel_credentials",
    "channel_options",
    "check_address",
    "new_channel",
]

# Fabric nodes accept messages of up to 100 MiB.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
MAX_PORT = 65535


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A gRPC endpoint of a peer or orderer.

    ``tls_root_certs`` is the PEM bundle that verifies the node's TLS certificate; ``None`` means plain
    text, which fabrx networks never use but tests of the transport may. ``client_cert``/``client_key``
    enable mutual TLS. ``server_name`` overrides the host name checked against the certificate.
    """

    address: str
    tls_root_certs: bytes | None = None
    client_cert: bytes | None = None
    client_key: bytes | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        check_address(self.address)

    @classmethod
    def from_files(
        cls,
        address: str,
        *,
        tls_root_cert: str | Path | None,
        client_cert: str | Path | None = None,
        client_key: str | Path | None = None,
        server_name: str | None = None,
    ) -> Endpoint:
        """An endpoint with its TLS material read from PEM files.

        Raises:
            ArgumentError: a file cannot be read (named, with the reason); or the address is malformed.
        """

        def read(path: str | Path | None) -> bytes | None:
            if path is None:
                return None
            try:
                return Path(path).read_bytes()
            except OSError as exc:
                raise ArgumentError(f"cannot read {path}: {exc.strerror or exc}") from exc

        return cls(
            address=address,
            tls_root_certs=read(tls_root_cert),
            client_cert=read(client_cert),
            client_key=read(client_key),
            server_name=server_name,
        )


def check_address(address: str) -> None:
    """Check that ``address`` is ``host:port`` (``[ipv6]:port``) with a port from 1 to 65535.

    gRPC target forms with a scheme (``dns:///host:port``, ``unix:/path``) are passed through as given.

    Raises:
        ArgumentError: naming the address and what is wrong with it. Without this check gRPC would
            dial port 99999 as port 34463 (it keeps only the low 16 bits).
    """
    if not isinstance(address, str):
        raise ArgumentError(f"endpoint address must be a 'host:port' string, not {type(address).__name__}")
    if address.startswith("unix:") or "://" in address:
        return
    host, separator, port = address.rpartition(":")
    if not separator or not host or host in ("[]",):
        raise ArgumentError(f"endpoint address {address!r} must be host:port, e.g. '127.0.0.1:7051'")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ArgumentError(
            f"endpoint address {address!r}: write an IPv6 host in brackets, e.g. '[::1]:7051'"
        )
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= MAX_PORT:
        raise ArgumentError(f"endpoint address {address!r}: the port must be a number from 1 to {MAX_PORT}")


def channel_options(endpoint: Endpoint) -> list[tuple[str, int | str]]:
    """The gRPC channel options fabrx uses for every Fabric node (sync and asyncio channels alike)."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        # Fabric nodes reject keepalive pings more often than every 60 s by default.
        ("grpc.keepalive_time_ms", 120_000),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]
    if endpoint.server_name:
        options.append(("grpc.ssl_target_name_override", endpoint.server_name))
    return options


def channel_credentials(endpoint: Endpoint) -> grpc.ChannelCredentials | None:
    """TLS (or mutual TLS) credentials for ``endpoint``; ``None`` for a plain-text endpoint."""
    if endpoint.tls_root_certs is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=endpoint.tls_root_certs,
        private_key=endpoint.client_key,
        certificate_chain=endpoint.client_cert,
    )


def new_channel(endpoint: Endpoint) -> grpc.Channel:
    """Open a gRPC channel to ``endpoint`` (lazily connected; the caller owns and closes it)."""
    credentials = channel_credentials(endpoint)
    if credentials is None:
        return grpc.insecure_channel(endpoint.address, options=channel_options(endpoint))
    return grpc.secure_channel(endpoint.address, credentials, options=channel_options(endpoint))
