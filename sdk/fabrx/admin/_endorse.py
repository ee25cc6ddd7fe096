"""Direct endorsement, ordering and commit wait: the transport steps of admin transactions.

Administration talks to peers' ``Endorser`` service directly (system chaincodes such as ``cscc`` and
``_lifecycle`` are not reachable through the Gateway's evaluate/endorse), sends the assembled
transaction to an orderer's ``AtomicBroadcast``, then asks a peer's Gateway ``CommitStatus`` until the
transaction is committed. ``grpc.RpcError`` becomes :class:`~fabrx.errors.AdminError` here and only here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.orderer import ab_pb2_grpc
from fabric_protos.peer import peer_pb2_grpc, proposal_pb2, proposal_response_pb2, transaction_pb2

from .._protocol import (
    new_proposal,
    new_transaction_context,
    sign_envelope,
    sign_proposal,
    transaction_payload,
)
from ..endpoint import Endpoint, new_channel
from ..errors import AdminError, ArgumentError
from ..hashing import Hash
from ..identity import Identity
from ..signing import Signer

__all__ = [
    "DEFAULT_COMMIT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "Committed",
    "PeerConnection",
    "ProposalRejected",
    "SigningIdentity",
    "TransactionInvalid",
    "broadcast",
    "endorse",
    "query",
    "submit_transaction",
    "wait_for_commit",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_COMMIT_TIMEOUT = 60.0
_RETRY_DELAY = 0.25


class ProposalRejected(AdminError):
    """A peer answered a proposal with an error status (the request reached it, it said no).

    ``reason`` is the peer's message verbatim (for example ``access denied`` or a ``_lifecycle`` rule).
    """

    def __init__(self, action: str, address: str, status: int, reason: str) -> None:
        self.action = action
        self.address = address
        self.status = status
        self.reason = reason
        super().__init__(f"{action} rejected by peer {address} (status {status}): {reason}")


class TransactionInvalid(AdminError):
    """An admin transaction was ordered but committed as invalid; ``validation_code`` says why."""

    def __init__(self, action: str, transaction_id: str, validation_code: str, block_number: int) -> None:
        self.transaction_id = transaction_id
        self.validation_code = validation_code
        self.block_number = block_number
        super().__init__(
            f"{action}: transaction {transaction_id} was committed as invalid "
            f"in block {block_number}: {validation_code}"
        )


@dataclass(frozen=True)
class SigningIdentity:
    """Who signs: an identity, its signer and the hash the signer expects."""

    identity: Identity
    signer: Signer
    hash: Hash


@dataclass(frozen=True)
class PeerConnection:
    """An open gRPC channel to a peer and the address to name in errors."""

    address: str
    channel: grpc.Channel


@dataclass(frozen=True)
class Committed:
    """An admin transaction committed as valid."""

    transaction_id: str
    block_number: int


def _rpc_error(action: str, address: str, error: grpc.RpcError) -> AdminError:
    if isinstance(error, grpc.Call):
        return AdminError(f"{action} at {address} failed: {error.code().name}: {error.details()}")
    return AdminError(f"{action} at {address} failed: {error}")


def endorse(
    peers: Sequence[PeerConnection],
    signed_proposal: proposal_pb2.SignedProposal,
    action: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[proposal_response_pb2.ProposalResponse]:
    """Send a signed proposal to each peer's ``Endorser.ProcessProposal``.

    Raises:
        AdminError: a peer is unreachable or the call failed.
        ProposalRejected: a peer answered with an error status (>= 400).
    """
    responses = []
    for peer in peers:
        stub = peer_pb2_grpc.EndorserStub(peer.channel)
        try:
            response = stub.ProcessProposal(signed_proposal, timeout=timeout)
        except grpc.RpcError as exc:
            raise _rpc_error(action, peer.address, exc) from exc
        if response.response.status >= 400:
            raise ProposalRejected(action, peer.address, response.response.status, response.response.message)
        responses.append(response)
    return responses


def query(
    peer: PeerConnection,
    signer: SigningIdentity,
    channel_id: str,
    chaincode_name: str,
    args: Sequence[bytes],
    action: str,
    *,
    header_type: int = common_pb2.ENDORSER_TRANSACTION,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Run a proposal on one peer and return the chaincode response payload (nothing is ordered).

    Raises:
        AdminError, ProposalRejected: as :func:`endorse`.
    """
    proposal = _proposal(signer, channel_id, chaincode_name, args, header_type)[1]
    signed = sign_proposal(proposal, signer.signer, signer.hash)
    (response,) = endorse([peer], signed, action, timeout=timeout)
    return bytes(response.response.payload)


def broadcast(
    orderer: Endpoint, envelope: common_pb2.Envelope, action: str, *, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Send a signed transaction envelope to an orderer and require status ``SUCCESS``.

    ``SERVICE_UNAVAILABLE`` (e.g. no Raft leader yet, just after the channel was created) is retried
    until ``timeout``: the orderer did not accept the transaction, so sending it again is safe.

    Raises:
        AdminError: the orderer is unreachable or refused the transaction.
    """
    deadline = time.monotonic() + timeout
    with new_channel(orderer) as channel:
        stub = ab_pb2_grpc.AtomicBroadcastStub(channel)
        while True:
            try:
                replies = stub.Broadcast(iter([envelope]), timeout=max(deadline - time.monotonic(), 0.1))
                reply = next(iter(replies), None)
            except grpc.RpcError as exc:
                raise _rpc_error(f"{action}: broadcast", orderer.address, exc) from exc
            if reply is None:
                raise AdminError(
                    f"{action}: orderer {orderer.address} closed the broadcast stream without an answer"
                )
            if reply.status != common_pb2.SERVICE_UNAVAILABLE or time.monotonic() + _RETRY_DELAY > deadline:
                break
            time.sleep(_RETRY_DELAY)
    if reply.status != common_pb2.SUCCESS:
        status = (
            common_pb2.Status.Name(reply.status)
            if reply.status in common_pb2.Status.values()
            else reply.status
        )
        raise AdminError(
            f"{action}: orderer {orderer.address} refused the transaction: {status}: {reply.info}"
        )


def wait_for_commit(
    peer: PeerConnection,
    signer: SigningIdentity,
    channel_id: str,
    transaction_id: str,
    action: str,
    *,
    timeout: float = DEFAULT_COMMIT_TIMEOUT,
) -> int:
    """Wait until ``peer`` has committed the transaction; return its block number.

    Uses the peer's Gateway ``CommitStatus``, which blocks until the transaction is in a block.

    Raises:
        TransactionInvalid: the transaction was committed as invalid.
        AdminError: the wait failed or timed out.
    """
    request = gateway_pb2.CommitStatusRequest(
        transaction_id=transaction_id, channel_id=channel_id, identity=signer.identity.serialize()
    ).SerializeToString()
    signed = gateway_pb2.SignedCommitStatusRequest(
        request=request, signature=signer.signer(signer.hash(request))
    )
    stub = gateway_pb2_grpc.GatewayStub(peer.channel)
    try:
        status = stub.CommitStatus(signed, timeout=timeout)
    except grpc.RpcError as exc:
        raise _rpc_error(
            f"{action}: waiting for commit of transaction {transaction_id}", peer.address, exc
        ) from exc
    if status.result != transaction_pb2.VALID:
        code = transaction_pb2.TxValidationCode.Name(status.result)
        raise TransactionInvalid(action, transaction_id, code, int(status.block_number))
    return int(status.block_number)


def submit_transaction(
    signer: SigningIdentity,
    channel_id: str,
    chaincode_name: str,
    args: Sequence[bytes],
    action: str,
    *,
    endorsers: Sequence[PeerConnection],
    orderer: Endpoint,
    commit_peers: Sequence[PeerConnection] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    commit_timeout: float = DEFAULT_COMMIT_TIMEOUT,
) -> Committed:
    """Endorse on exactly the peers of ``endorsers``, order, and wait until each peer of
    ``commit_peers`` (``endorsers`` when not given) committed it.

    Unlike a Gateway submit, where the gateway peer picks the endorsers from service discovery (a
    client chooses organizations, not peers), this sends the proposal to the named peers only: the
    transaction carries their endorsements and nobody else's. Every committing peer validates it
    against the chaincode's endorsement policy with the channel's MSPs as of that block; an endorsement
    that does not count there (an endorser of the wrong organization, or one whose certificate the
    channel's CRL revokes) makes the transaction invalid on every peer (``ENDORSEMENT_POLICY_FAILURE``),
    its writes discarded. Wait on peers other than the endorsers when an endorser may not receive
    blocks (a revoked peer is refused by the orderer's deliver service).

    Raises:
        ProposalRejected: a peer refused to endorse (nothing was ordered).
        TransactionInvalid: the transaction was ordered but committed as invalid (its validation code).
        AdminError: endorsements disagree, ordering failed, or the commit wait failed or timed out.
    """
    if not endorsers:
        raise ArgumentError(f"{action}: no endorsing peers given")
    transaction_id, proposal = _proposal(
        signer, channel_id, chaincode_name, args, common_pb2.ENDORSER_TRANSACTION
    )
    signed = sign_proposal(proposal, signer.signer, signer.hash)
    responses = endorse(endorsers, signed, action, timeout=timeout)
    try:
        payload = transaction_payload(proposal, responses)
    except ValueError as exc:
        raise AdminError(f"{action}: cannot assemble the transaction: {exc}") from exc
    broadcast(orderer, sign_envelope(payload, signer.signer, signer.hash), action, timeout=timeout)
    block_number = 0
    for peer in endorsers if commit_peers is None else commit_peers:
        block_number = wait_for_commit(
            peer, signer, channel_id, transaction_id, action, timeout=commit_timeout
        )
    return Committed(transaction_id=transaction_id, block_number=block_number)


def _proposal(
    signer: SigningIdentity, channel_id: str, chaincode_name: str, args: Sequence[bytes], header_type: int
) -> tuple[str, proposal_pb2.Proposal]:
    context = new_transaction_context(signer.identity.serialize())
    proposal = new_proposal(context, channel_id, chaincode_name, args)
    if header_type != common_pb2.ENDORSER_TRANSACTION:
        # Joining a channel is a CONFIG proposal, as the peer CLI sends it; only the type differs.
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        channel_header.type = header_type
        header.channel_header = channel_header.SerializeToString()
        proposal.header = header.SerializeToString()
    return context.transaction_id, proposal
