"""Fetching a channel's latest config block from an orderer (its ``Deliver`` service).

An organization that runs no peer (the orderer organization) or a member whose peer has not joined
yet reads the channel's configuration this way: the newest block names, in its orderer metadata, the
number of the last config block, which is fetched next. The signing identity must satisfy the
channel's ``Readers`` policy (any member's admin, peer or client does).
"""

from __future__ import annotations

import functools
import os

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc
from google.protobuf.message import DecodeError

from .._protocol import new_channel_header, sign_envelope
from ..endpoint import Endpoint, new_channel
from ..errors import AdminError
from ..hashing import Hash, sha256
from ..identity import Identity
from ..signing import Signer
from ._endorse import DEFAULT_TIMEOUT
from .channelconfig import ChannelConfig, config_from_block

__all__ = ["fetch_block", "fetch_config_block", "read_channel_config_from_orderer"]

_NEWEST = -1


def fetch_block(
    orderer: Endpoint,
    identity: Identity,
    signer: Signer,
    channel_id: str,
    number: int,
    *,
    hash: Hash = sha256,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Block ``number`` of ``channel_id`` (``-1`` for the newest) from ``orderer``, serialized.

    ``signer`` signs ``hash`` digests for ``identity``, which must be a reader of the channel.

    Raises:
        AdminError: the orderer is unreachable, does not serve the channel, or refused the identity.
    """
    position = (
        ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest())
        if number == _NEWEST
        else ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=number))
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=new_channel_header(common_pb2.DELIVER_SEEK_INFO, channel_id).SerializeToString(),
            signature_header=common_pb2.SignatureHeader(
                creator=identity.serialize(), nonce=os.urandom(24)
            ).SerializeToString(),
        ),
        data=ab_pb2.SeekInfo(
            start=position, stop=position, behavior=ab_pb2.SeekInfo.FAIL_IF_NOT_READY
        ).SerializeToString(),
    )
    envelope = sign_envelope(payload, signer, hash)
    which = "the newest block" if number == _NEWEST else f"block {number}"
    action = f"fetch {which} of {channel_id} from orderer {orderer.address}"
    with new_channel(orderer) as channel:
        stub = ab_pb2_grpc.AtomicBroadcastStub(channel)
        try:
            for response in stub.Deliver(iter([envelope]), timeout=timeout):
                if response.WhichOneof("Type") == "block":
                    return response.block.SerializeToString()
                status = common_pb2.Status.Name(response.status)
                raise AdminError(f"{action}: refused with {status}")
        except grpc.RpcError as exc:
            detail = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            raise AdminError(f"{action}: {detail}") from exc
    raise AdminError(f"{action}: the orderer closed the stream without a block")


def fetch_config_block(
    orderer: Endpoint,
    identity: Identity,
    signer: Signer,
    channel_id: str,
    *,
    hash: Hash = sha256,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The channel's latest config block from ``orderer`` (the block ``peer channel fetch config`` gets).

    Raises:
        AdminError: as :func:`fetch_block`, or the newest block names no last config block.
    """
    fetch = functools.partial(fetch_block, orderer, identity, signer, channel_id, hash=hash, timeout=timeout)
    newest = common_pb2.Block.FromString(fetch(_NEWEST))
    try:
        signatures = common_pb2.Metadata.FromString(newest.metadata.metadata[common_pb2.SIGNATURES])
        index = common_pb2.OrdererBlockMetadata.FromString(signatures.value).last_config.index
    except (DecodeError, IndexError) as exc:
        raise AdminError(f"block {newest.header.number} of {channel_id} names no last config block") from exc
    if index == newest.header.number:
        return newest.SerializeToString()
    return fetch(index)


def read_channel_config_from_orderer(
    orderer: Endpoint,
    identity: Identity,
    signer: Signer,
    channel_id: str,
    *,
    hash: Hash = sha256,
    timeout: float = DEFAULT_TIMEOUT,
) -> ChannelConfig:
    """The channel's current configuration as ``orderer`` has it.

    Raises:
        AdminError: as :func:`fetch_config_block`.
    """
    return config_from_block(
        fetch_config_block(orderer, identity, signer, channel_id, hash=hash, timeout=timeout)
    )
