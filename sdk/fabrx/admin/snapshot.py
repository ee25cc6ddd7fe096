"""Ledger snapshots: a new member's peer joins a long channel from a snapshot instead of block 0.

A peer of any member generates a snapshot of a channel at a block (:func:`request_snapshot`, Fabric's
``Snapshot.Generate``, allowed to an admin of that peer's organization); when it is done
(:func:`wait_for_snapshot`) the peer has written it to ``<ledger.snapshots.rootDir>/completed/<channel>/
<block>/`` (:func:`snapshot_path`): the state, the private data hashes, the transaction ids and the
channel configuration at that block, with their hashes in ``_snapshot_signable_metadata.json``. The
folder is handed to the new member, whose admin joins its own peer with it
(:func:`join_channel_by_snapshot`, ``cscc JoinChainBySnapshot``, a path on the new peer's host). The
peer builds its ledger from the snapshot in the background (:func:`join_by_snapshot_status`) and then
pulls only the blocks after it. The snapshot must be taken after the new member's organization was
added to the channel, because the peer starts from the configuration it holds.

A peer that joined from a snapshot holds no block before it: it cannot serve those blocks, nor the
history of keys before it (``GetHistoryForKey``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.peer import query_pb2, snapshot_pb2, snapshot_pb2_grpc

from ..errors import AdminError
from ._endorse import _rpc_error, query
from .peer import PeerAdmin

__all__ = [
    "JoinBySnapshotStatus",
    "join_by_snapshot_status",
    "join_channel_by_snapshot",
    "pending_snapshots",
    "request_snapshot",
    "snapshot_path",
    "wait_for_snapshot",
]

_NONCE_LENGTH = 24
SIGNABLE_METADATA = "_snapshot_signable_metadata.json"


@dataclass(frozen=True)
class JoinBySnapshotStatus:
    """Whether a peer is still building a channel's ledger from a snapshot, and from which folder."""

    in_progress: bool
    snapshot_dir: str


def snapshot_path(snapshots_root: Path, channel_id: str, block_number: int) -> Path:
    """Where a peer whose ``ledger.snapshots.rootDir`` is ``snapshots_root`` writes a completed snapshot."""
    return snapshots_root / "completed" / channel_id / str(block_number)


def _signed(
    peer: PeerAdmin, request: snapshot_pb2.SnapshotRequest | snapshot_pb2.SnapshotQuery
) -> snapshot_pb2.SignedSnapshotRequest:
    request.signature_header.CopyFrom(
        common_pb2.SignatureHeader(creator=peer.signing.identity.serialize(), nonce=os.urandom(_NONCE_LENGTH))
    )
    data = request.SerializeToString()
    return snapshot_pb2.SignedSnapshotRequest(
        request=data, signature=peer.signing.signer(peer.signing.hash(data))
    )


def _call(peer: PeerAdmin, method: str, request: snapshot_pb2.SignedSnapshotRequest, action: str) -> Any:
    stub = snapshot_pb2_grpc.SnapshotStub(peer.connection.channel)
    try:
        return getattr(stub, method)(request, timeout=peer.timeout)
    except grpc.RpcError as exc:
        raise _rpc_error(action, f"peer {peer.endpoint.address}", exc) from exc


def request_snapshot(peer: PeerAdmin, channel_id: str, block_number: int | None = None) -> int:
    """Ask ``peer`` to generate a snapshot of ``channel_id`` at ``block_number``; return that number.

    Without ``block_number`` the snapshot is taken at the peer's last committed block (the number
    is read first, so the caller knows which folder to expect). A block not yet committed is
    snapshotted when the peer commits it.

    Raises:
        AdminError: the peer is unreachable, has not joined the channel, the identity is not an admin
            of the peer's organization, or the block is older than the last committed one.
    """
    explicit = block_number is not None
    for _ in range(5):
        number = block_number if block_number is not None else peer.chain_info(channel_id).height - 1
        request = snapshot_pb2.SnapshotRequest(channel_id=channel_id, block_number=number)
        try:
            _call(peer, "Generate", _signed(peer, request), f"snapshot request of {channel_id} at {number}")
        except AdminError as exc:
            # The peer committed another block between reading the height and the request.
            if not explicit and "cannot be less than the last committed block" in str(exc):
                continue
            raise
        return number
    raise AdminError(f"peer {peer.endpoint.address} commits blocks of {channel_id} too fast to snapshot one")


def pending_snapshots(peer: PeerAdmin, channel_id: str) -> tuple[int, ...]:
    """The block numbers of the snapshot requests ``peer`` has not completed yet for ``channel_id``.

    Raises:
        AdminError: the peer is unreachable, has not joined the channel, or refused the identity.
    """
    request = _signed(peer, snapshot_pb2.SnapshotQuery(channel_id=channel_id))
    response = _call(peer, "QueryPendings", request, f"pending snapshots of {channel_id}")
    return tuple(response.block_numbers)


def wait_for_snapshot(peer: PeerAdmin, channel_id: str, block_number: int, *, timeout: float = 120.0) -> None:
    """Wait until ``peer`` has completed the snapshot of ``channel_id`` at ``block_number``.

    Raises:
        AdminError: still pending after ``timeout`` seconds, or the peer cannot be asked.
    """
    deadline = time.monotonic() + timeout
    while block_number in pending_snapshots(peer, channel_id):
        if time.monotonic() > deadline:
            raise AdminError(
                f"the snapshot of {channel_id} at block {block_number} on peer {peer.endpoint.address} "
                f"is still pending after {timeout:.0f} s"
            )
        time.sleep(0.2)


def join_channel_by_snapshot(peer: PeerAdmin, snapshot_dir: str | Path) -> None:
    """Join ``peer`` to the channel of the snapshot in ``snapshot_dir`` (a folder on the peer's host).

    The peer answers at once and builds the ledger in the background: wait with
    :func:`join_by_snapshot_status` (or until :meth:`PeerAdmin.channels` lists the channel and its
    height grows past the snapshot's block).

    Raises:
        AdminError: the folder is no snapshot the peer can read, the peer already has the channel, is
            building another ledger from a snapshot, is unreachable, or refused the identity.
    """
    path = str(snapshot_dir)
    query(
        peer.connection,
        peer.signing,
        "",
        "cscc",
        [b"JoinChainBySnapshot", path.encode()],
        f"join by snapshot {path}",
        timeout=peer.timeout,
    )


def join_by_snapshot_status(peer: PeerAdmin) -> JoinBySnapshotStatus:
    """Whether ``peer`` is still building a ledger from a snapshot (``cscc JoinBySnapshotStatus``).

    Raises:
        AdminError: the peer is unreachable or refused the identity.
    """
    payload = query(
        peer.connection,
        peer.signing,
        "",
        "cscc",
        [b"JoinBySnapshotStatus"],
        "join by snapshot status",
        timeout=peer.timeout,
    )
    status = query_pb2.JoinBySnapshotStatus.FromString(payload)
    return JoinBySnapshotStatus(
        in_progress=status.in_progress, snapshot_dir=status.bootstrapping_snapshot_dir
    )
