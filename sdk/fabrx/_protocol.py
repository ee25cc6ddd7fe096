"""Building and signing the messages every Fabric client sends.

Shared by the Gateway client and :mod:`fabrx.admin`: transaction contexts, channel and signature
headers, chaincode proposals, and envelopes. Nothing here does I/O.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf import timestamp_pb2

from .errors import ArgumentError
from .hashing import Hash
from .signing import Signer

NONCE_LENGTH = 24


@dataclass(frozen=True)
class TransactionContext:
    """A nonce and the transaction id derived from it: ``hex(sha256(nonce + creator))``."""

    creator: bytes
    nonce: bytes
    transaction_id: str

    @property
    def signature_header(self) -> common_pb2.SignatureHeader:
        return common_pb2.SignatureHeader(creator=self.creator, nonce=self.nonce)


def new_transaction_context(creator: bytes) -> TransactionContext:
    """A fresh transaction context for the serialized identity ``creator``."""
    nonce = os.urandom(NONCE_LENGTH)
    return TransactionContext(
        creator=creator, nonce=nonce, transaction_id=hashlib.sha256(nonce + creator).hexdigest()
    )


def now_timestamp() -> timestamp_pb2.Timestamp:
    now = time.time_ns()
    return timestamp_pb2.Timestamp(seconds=now // 1_000_000_000, nanos=now % 1_000_000_000)


@functools.lru_cache(maxsize=1024)
def _chaincode_header_extension(chaincode_name: str) -> bytes:
    # The same bytes for every proposal to one chaincode: serialized once (this is the hot path of
    # every evaluate and submit).
    return proposal_pb2.ChaincodeHeaderExtension(
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode_name)
    ).SerializeToString()


def new_channel_header(
    header_type: int,
    channel_id: str,
    transaction_id: str = "",
    *,
    chaincode_name: str | None = None,
    tls_cert_hash: bytes = b"",
) -> common_pb2.ChannelHeader:
    """A channel header of ``header_type`` (a ``common.HeaderType`` value) stamped with the current time."""
    header = common_pb2.ChannelHeader(
        type=header_type, channel_id=channel_id, tx_id=transaction_id, epoch=0, tls_cert_hash=tls_cert_hash
    )
    now = time.time_ns()
    header.timestamp.seconds = now // 1_000_000_000
    header.timestamp.nanos = now % 1_000_000_000
    if chaincode_name is not None:
        header.extension = _chaincode_header_extension(chaincode_name)
    return header


def new_proposal(
    context: TransactionContext,
    channel_id: str,
    chaincode_name: str,
    args: Sequence[bytes],
    *,
    transient: Mapping[str, bytes] | None = None,
) -> proposal_pb2.Proposal:
    """A chaincode proposal invoking ``args[0]`` with ``args[1:]`` (``ENDORSER_TRANSACTION`` type).

    ``transient`` values reach the chaincode but are not part of the transaction written to the ledger.
    """
    header = common_pb2.Header(
        channel_header=new_channel_header(
            common_pb2.ENDORSER_TRANSACTION, channel_id, context.transaction_id, chaincode_name=chaincode_name
        ).SerializeToString(),
        signature_header=common_pb2.SignatureHeader(
            creator=context.creator, nonce=context.nonce
        ).SerializeToString(),
    )
    # Fields are set in place: building the nested messages from keyword arguments copies each level.
    invocation = chaincode_pb2.ChaincodeInvocationSpec()
    spec = invocation.chaincode_spec
    spec.type = chaincode_pb2.ChaincodeSpec.UNDEFINED
    spec.chaincode_id.name = chaincode_name
    spec.input.args.extend(args)
    payload = proposal_pb2.ChaincodeProposalPayload(input=invocation.SerializeToString())
    if transient:
        payload.TransientMap.update(transient)
    return proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())


def sign_proposal(proposal: proposal_pb2.Proposal, signer: Signer, hash: Hash) -> proposal_pb2.SignedProposal:
    proposal_bytes = proposal.SerializeToString()
    return proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes, signature=signer(hash(proposal_bytes)))


def sign_envelope(payload: common_pb2.Payload | bytes, signer: Signer, hash: Hash) -> common_pb2.Envelope:
    payload_bytes = payload if isinstance(payload, bytes) else payload.SerializeToString()
    return common_pb2.Envelope(payload=payload_bytes, signature=signer(hash(payload_bytes)))


def transaction_payload(
    proposal: proposal_pb2.Proposal, responses: Sequence[proposal_response_pb2.ProposalResponse]
) -> common_pb2.Payload:
    """Assemble the endorser transaction from a proposal and its matching endorsements.

    Used where a client talks to endorsers directly (channel administration); the Gateway does this
    server-side. The transient map is stripped from the proposal payload, so it never reaches the ledger.
    Raises ``ValueError`` when the responses disagree or none succeeded.
    """
    if not responses:
        raise ArgumentError("no proposal responses")
    first = responses[0]
    for response in responses:
        if response.response.status < 200 or response.response.status >= 400:
            raise ArgumentError(
                f"endorsement failed with status {response.response.status}: {response.response.message}"
            )
        if response.payload != first.payload:
            raise ArgumentError("proposal responses do not match: endorsers produced different results")
    header = common_pb2.Header.FromString(proposal.header)
    proposal_payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    proposal_payload.ClearField("TransientMap")
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=proposal_payload.SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=first.payload,
            endorsements=[response.endorsement for response in responses],
        ),
    )
    transaction = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=header.signature_header, payload=action_payload.SerializeToString()
            )
        ]
    )
    return common_pb2.Payload(header=header, data=transaction.SerializeToString())
