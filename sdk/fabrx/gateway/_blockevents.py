"""Block events over the peer's Deliver service: the seek request and the resume position."""

from __future__ import annotations

from typing import Any, TypeAlias

from fabric_protos.common import common_pb2
from fabric_protos.peer import events_pb2

from .._protocol import sign_envelope
from ..errors import GatewayError
from . import _messages as messages
from ._client import DeliverKind
from ._signing import SigningIdentity

Block: TypeAlias = common_pb2.Block
FilteredBlock: TypeAlias = events_pb2.FilteredBlock
BlockAndPrivateData: TypeAlias = events_pb2.BlockAndPrivateData


class BlockEventsCursor:
    """Where a block stream stands: the next block expected, and the signed seek to resume from it."""

    def __init__(
        self,
        signing: SigningIdentity,
        kind: DeliverKind,
        channel_id: str,
        start_block: int | None,
        tls_cert_hash: bytes,
    ) -> None:
        self.what = f"{kind.value} block events on channel {channel_id!r}"
        self.kind = kind
        self._signing = signing
        self._channel_id = channel_id
        self._next_block = start_block
        self._tls_cert_hash = tls_cert_hash

    def request(self) -> common_pb2.Envelope:
        payload = messages.new_seek_payload(
            self._channel_id, self._signing.creator, self._next_block, tls_cert_hash=self._tls_cert_hash
        )
        return sign_envelope(payload, self._signing.sign, self._signing.hash)

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
