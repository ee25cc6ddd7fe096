"""Block events over the peer's Deliver service: the signed seek request and the resume position."""

from __future__ import annotations

import builtins
import functools
from typing import Any, Generic, TypeAlias, TypeVar

from fabric_protos.common import common_pb2
from fabric_protos.peer import events_pb2

from ..errors import GatewayError, IdentityError
from . import _messages as messages
from ._client import DeliverKind
from ._reconnect import Outage
from ._session import Session
from ._signing import SigningIdentity
from ._stream import EventStream

Block: TypeAlias = common_pb2.Block
FilteredBlock: TypeAlias = events_pb2.FilteredBlock
BlockAndPrivateData: TypeAlias = events_pb2.BlockAndPrivateData

B = TypeVar("B", Block, FilteredBlock, BlockAndPrivateData)


class BlockEventsCursor:
    """Where a block stream stands: the next block expected, and the signed seek to resume from it.

    The first stream opens with the request's own envelope (signed now, unless signed offline). A
    reconnect seeks from the block after the last one received, newly signed; without a signer it can
    only reuse the first envelope, which is right as long as no block has been received.
    """

    def __init__(
        self, signing: SigningIdentity, kind: DeliverKind, envelope: common_pb2.Envelope, seek: messages.Seek
    ) -> None:
        self.what = f"{kind.value} block events on channel {seek.channel_id!r}"
        self.kind = kind
        self._signing = signing
        self._envelope = envelope
        self._seek = seek
        self._next_block = seek.start_block
        self._opened = False

    @property
    def position(self) -> str:
        """Where a resumed stream starts, for logs."""
        return "from the next commit" if self._next_block is None else f"from block {self._next_block}"

    def request(self) -> common_pb2.Envelope:
        reopen, self._opened = self._opened, True
        if reopen and self._signing.signer is not None:
            payload = messages.new_seek_payload(
                self._seek.channel_id,
                self._signing.creator,
                self._next_block,
                tls_cert_hash=self._seek.tls_cert_hash,
            )
            return common_pb2.Envelope(
                payload=payload, signature=self._signing.sign(self._signing.hash(payload))
            )
        if reopen and self._next_block != self._seek.start_block:
            raise IdentityError(
                f"{self.what}: the stream broke and resuming needs a newly signed request, but the "
                "Gateway has no signer; request blocks again from a checkpoint with a new offline-signed "
                "request"
            )
        if not self._envelope.signature:
            self._envelope.signature = self._signing.sign(self._signing.hash(self._envelope.payload))
        return self._envelope

    def accept(self, response: events_pb2.DeliverResponse) -> list[Any]:
        which = response.WhichOneof("Type")
        if which == "status":
            name = common_pb2.Status.Name(response.status)
            raise GatewayError(f"{self.what}: the peer ended the stream with status {name}", code=name)
        if which == "block":
            item: Any = response.block
            number = response.block.header.number
        elif which == "filtered_block":
            item = response.filtered_block
            number = response.filtered_block.number
        elif which == "block_and_private_data":
            item = response.block_and_private_data
            number = response.block_and_private_data.block.header.number
        else:
            return []
        if self._next_block is not None and number < self._next_block:
            return []  # already delivered before a reconnect
        self._next_block = number + 1
        return [item]


class BlockEventsRequestState(Generic[B]):
    """A request for block events (a signed ``common.Envelope`` carrying a ``SeekInfo``), any transport.

    ``bytes``/``digest`` support offline signing: sign ``digest`` and rebuild the request with the
    ``gateway.new_signed_*block*_events_request`` method of the same kind. The peer rejects a seek
    whose channel header timestamp is further from its clock than ``peer.authentication.timewindow``
    (15 minutes by default), so sign and open it promptly.
    """

    __slots__ = ("_envelope", "_kind", "_seek", "_signing")

    def __init__(
        self, signing: SigningIdentity, kind: DeliverKind, envelope: common_pb2.Envelope, seek: messages.Seek
    ) -> None:
        self._signing = signing
        self._kind = kind
        self._envelope = envelope
        self._seek = seek

    @property
    def start_block(self) -> int | None:
        """The first block requested, or ``None`` for the next block to be committed."""
        return self._seek.start_block

    @property
    def bytes(self) -> builtins.bytes:
        """The serialized ``common.Envelope`` (payload: the seek request), signed or not."""
        return self._envelope.SerializeToString()

    @property
    def digest(self) -> builtins.bytes:
        """The digest to sign: the configured hash of the envelope's payload."""
        return self._signing.hash(self._envelope.payload)

    def _cursor(self) -> BlockEventsCursor:
        return BlockEventsCursor(self._signing, self._kind, self._envelope, self._seek)


class BlockEventsRequest(BlockEventsRequestState[B]):
    """A request for blocks of one kind (full, filtered, or with private data); :meth:`events` opens it."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, kind: DeliverKind, envelope: common_pb2.Envelope, seek: messages.Seek
    ) -> None:
        super().__init__(session.signing, kind, envelope, seek)
        self._session = session

    def events(self, *, timeout: float | None = None) -> EventStream[B]:
        """Open the block stream (lazily, at the first ``next()``).

        Blocks come in order; after a reconnect the stream resumes at the block after the last one
        received, so each block arrives once. ``timeout`` bounds the whole subscription (default:
        the Gateway's ``chaincode_events`` deadline).

        Raises (while iterating):
            ConnectionFailure: the stream could not be re-established within the reconnect policy.
            GatewayError: the peer refused the request (e.g. status ``FORBIDDEN``).
            IdentityError: the request is unsigned, or must be re-signed to resume, and the Gateway
                has no signer.
        """
        session = self._session
        cursor = self._cursor()
        return EventStream(
            cursor,
            functools.partial(session.client.deliver, self._kind),
            Outage(session.reconnect, cursor.what, position=lambda: cursor.position),
            session.timeouts.chaincode_events if timeout is None else timeout,
        )
