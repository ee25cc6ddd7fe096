"""The Gateway connection: one gRPC channel to a gateway peer, one client identity."""

from __future__ import annotations

import hashlib
from types import TracebackType

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import hashing
from ..endpoint import Endpoint, new_channel
from ..errors import ArgumentError, IdentityError
from ..hashing import Hash
from ..identity import Identity
from ..signing import Signer
from . import _messages as messages
from ._blockevents import B, Block, BlockAndPrivateData, BlockEventsRequest, FilteredBlock
from ._client import DeliverKind, GatewayClient
from ._commit import Commit
from ._events import ChaincodeEventsRequest
from ._network import Network
from ._options import Reconnect, Timeouts
from ._proposal import Proposal
from ._session import Session
from ._signing import SigningIdentity
from ._transaction import Transaction


def tls_cert_hash(client_cert_pem: bytes | None) -> bytes:
    """SHA-256 of the DER client TLS certificate, which Deliver requires under mutual TLS; else empty.

    Raises:
        IdentityError: ``client_cert_pem`` is not a PEM certificate.
    """
    if not client_cert_pem:
        return b""
    try:
        certificate = x509.load_pem_x509_certificate(client_cert_pem)
    except ValueError as exc:
        raise IdentityError(f"client TLS certificate is not a PEM certificate: {exc}") from exc
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()


def resolve_channel_source(
    endpoint: Endpoint | None, channel: object | None, tls_client_cert: bytes | None
) -> bytes:
    """Check that exactly one of ``endpoint``/``channel`` is given; return the TLS certificate hash."""
    if (endpoint is None) == (channel is None):
        raise ArgumentError(
            "connect needs exactly one of endpoint= (fabrx opens the channel) or channel= (yours)"
        )
    if endpoint is not None:
        return tls_cert_hash(endpoint.client_cert)
    return tls_cert_hash(tls_client_cert)


class Gateway:
    """A connection to a Fabric Gateway peer on behalf of one client identity.

    Thread-safe: share one Gateway (and its one gRPC channel) between all threads of a process.
    Closing it closes the gRPC channel only when fabrx opened it (``connect(endpoint=...)``).
    """

    def __init__(self, session: Session, channel: grpc.Channel, *, owns_channel: bool) -> None:
        self._session = session
        self._channel = channel
        self._owns_channel = owns_channel

    @property
    def identity(self) -> Identity:
        """The client identity that signs every request."""
        return self._session.signing.identity

    def get_network(self, channel_name: str) -> Network:
        """The channel ``channel_name``."""
        return Network(self._session, channel_name)

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        """Rebuild a proposal from its ``.bytes`` and a signature of its ``.digest`` made offline."""
        proposed, channel_id = messages.with_proposal_signature(proposal_bytes, signature)
        return Proposal(self._session, proposed, channel_id)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        """Rebuild an endorsed transaction from its ``.bytes`` and an offline signature of its ``.digest``."""
        prepared, channel_id, result = messages.with_transaction_signature(transaction_bytes, signature)
        return Transaction(self._session, prepared, channel_id, result)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> Commit:
        """Rebuild a commit status request from its ``.bytes`` and an offline signature of its ``.digest``."""
        signed, transaction_id = messages.with_commit_signature(commit_bytes, signature)
        return Commit(self._session, signed, transaction_id)

    def new_signed_chaincode_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> ChaincodeEventsRequest:
        """Rebuild a chaincode events request from its ``.bytes`` and an offline signature of ``.digest``."""
        signed, request = messages.with_events_signature(request_bytes, signature)
        return ChaincodeEventsRequest(self._session, signed, request)

    def _signed_blocks(
        self, kind: DeliverKind, request_bytes: bytes, signature: bytes
    ) -> BlockEventsRequest[B]:
        envelope, seek = messages.with_seek_signature(request_bytes, signature)
        return BlockEventsRequest(self._session, kind, envelope, seek)

    def new_signed_block_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> BlockEventsRequest[Block]:
        """Rebuild a full-block events request from its ``.bytes`` and an offline signature of ``.digest``.

        The bytes do not say which Deliver service they were made for: use the ``new_signed_*`` method
        matching the ``network.new_*_events_request`` that made them.

        Raises:
            ArgumentError: the bytes are not a block events request.
        """
        return self._signed_blocks(DeliverKind.BLOCK, request_bytes, signature)

    def new_signed_filtered_block_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> BlockEventsRequest[FilteredBlock]:
        """Rebuild a filtered-block events request; see :meth:`new_signed_block_events_request`."""
        return self._signed_blocks(DeliverKind.FILTERED_BLOCK, request_bytes, signature)

    def new_signed_block_and_private_data_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> BlockEventsRequest[BlockAndPrivateData]:
        """Rebuild a block-and-private-data events request; see :meth:`new_signed_block_events_request`."""
        return self._signed_blocks(DeliverKind.BLOCK_AND_PRIVATE_DATA, request_bytes, signature)

    def close(self) -> None:
        """Close the gRPC channel if fabrx opened it; a caller-owned channel is left open."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(
    endpoint: Endpoint | None = None,
    *,
    channel: grpc.Channel | None = None,
    identity: Identity,
    signer: Signer | None = None,
    hash: Hash = hashing.sha256,
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen value object
    reconnect: Reconnect | None = Reconnect(),  # noqa: B008 - frozen value object
    tls_client_cert: bytes | None = None,
) -> Gateway:
    """Connect to a Gateway peer as ``identity``.

    Give either ``endpoint`` (fabrx opens a TLS or mutual-TLS gRPC channel and closes it with the
    Gateway) or ``channel`` (your ``grpc.Channel``, which you close; pass ``tls_client_cert`` when it
    uses mutual TLS, so block events can bind to it). The channel connects lazily: an unreachable peer
    shows up as :class:`~fabrx.errors.ConnectionFailure` on the first call.

    ``signer`` signs digests made by ``hash``; without it, sign offline (``.digest`` →
    ``gateway.new_signed_*``). ``reconnect=None`` makes event streams raise on the first failure.

    Raises:
        ArgumentError: neither or both of ``endpoint`` and ``channel`` are given.
        IdentityError: ``identity`` or the client TLS certificate is unusable.
    """
    cert_hash = resolve_channel_source(endpoint, channel, tls_client_cert)
    signing = SigningIdentity(identity, signer, hash)
    grpc_channel = new_channel(endpoint) if endpoint is not None else channel
    assert grpc_channel is not None
    session = Session(
        client=GatewayClient(grpc_channel),
        signing=signing,
        timeouts=timeouts,
        reconnect=reconnect,
        tls_cert_hash=cert_hash,
    )
    return Gateway(session, grpc_channel, owns_channel=endpoint is not None)
