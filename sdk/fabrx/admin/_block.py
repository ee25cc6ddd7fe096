"""Reading the channel id out of a (genesis or config) block."""

from __future__ import annotations

from fabric_protos.common import common_pb2
from google.protobuf.message import DecodeError

from ..errors import AdminError


def channel_id_of_block(block: bytes) -> str:
    """The channel id in the header of the block's first transaction.

    Raises:
        AdminError: the bytes are not a Fabric block with a transaction.
    """
    try:
        parsed = common_pb2.Block.FromString(block)
        if not parsed.data.data:
            raise AdminError("the block holds no transaction: pass a channel genesis (config) block")
        envelope = common_pb2.Envelope.FromString(parsed.data.data[0])
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    except DecodeError as exc:
        raise AdminError(f"not a Fabric block: {exc}") from exc
    if not header.channel_id:
        raise AdminError("the block names no channel: pass a channel genesis (config) block")
    return header.channel_id
