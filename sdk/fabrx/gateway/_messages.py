"""Pure builders and parsers of Gateway and Deliver messages, shared by the sync and asyncio clients.

Nothing here does I/O or signs: callers sign the digests and send the messages. Parsers read only the
fields a client needs, so large blocks and endorsements are not decoded more than necessary.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from .._protocol import NONCE_LENGTH, TransactionContext, new_channel_header, new_proposal
from ..errors import ArgumentError, ArgumentTypeError
from ._status import Status, StatusCode

Argument = str | bytes

# A stop position no ledger reaches: block streams never end by themselves.
_MAX_BLOCK_NUMBER = 2**64 - 1


def to_bytes(value: Argument, what: str) -> bytes:
    """UTF-8 encode a ``str``; pass ``bytes`` through.

    Raises:
        ArgumentTypeError: ``value`` is neither ``str`` nor ``bytes``.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise ArgumentTypeError(
        f"{what} must be str or bytes, not {type(value).__name__}: encode it (e.g. json.dumps) first"
    )


def qualified_name(contract_name: str | None, transaction_name: str) -> str:
    """``contract:transaction`` when the chaincode has several contracts, else the bare name."""
    return f"{contract_name}:{transaction_name}" if contract_name else transaction_name


def new_proposed_transaction(
    context: TransactionContext,
    channel_id: str,
    chaincode_name: str,
    transaction_name: str,
    args: Iterable[Argument],
    *,
    transient: Mapping[str, Argument] | None,
    endorsing_organizations: Sequence[str] | None,
) -> gateway_pb2.ProposedTransaction:
    """An unsigned ``ProposedTransaction`` (the signature is added to its ``proposal`` later).

    Raises:
        ArgumentTypeError: an argument or transient value is neither ``str`` nor ``bytes``, ``transient``
            is not a mapping, or ``endorsing_organizations`` is a single string (it would be read as one
            MSP id per character).
    """
    encoded_args = [transaction_name.encode()]
    encoded_args.extend(to_bytes(arg, "a transaction argument") for arg in args)
    if transient is not None and not isinstance(transient, Mapping):
        raise ArgumentTypeError(
            f"transient must be a mapping of names to str or bytes, not {type(transient).__name__}"
        )
    if isinstance(endorsing_organizations, str | bytes):
        raise ArgumentTypeError(
            f"endorsing_organizations must be a list of MSP ids, e.g. [{endorsing_organizations!r}]"
        )
    transient_map = (
        {key: to_bytes(value, f"transient value {key!r}") for key, value in transient.items()}
        if transient
        else None
    )
    proposal = new_proposal(context, channel_id, chaincode_name, encoded_args, transient=transient_map)
    return gateway_pb2.ProposedTransaction(
        transaction_id=context.transaction_id,
        proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
        endorsing_organizations=list(endorsing_organizations or ()),
    )


def proposal_channel_id(proposal_bytes: bytes) -> str:
    """The channel a serialized ``Proposal`` is addressed to."""
    header = common_pb2.Header.FromString(proposal_pb2.Proposal.FromString(proposal_bytes).header)
    return common_pb2.ChannelHeader.FromString(header.channel_header).channel_id


def evaluate_request(
    proposed: gateway_pb2.ProposedTransaction, channel_id: str
) -> gateway_pb2.EvaluateRequest:
    return gateway_pb2.EvaluateRequest(
        transaction_id=proposed.transaction_id,
        channel_id=channel_id,
        proposed_transaction=proposed.proposal,
        target_organizations=proposed.endorsing_organizations,
    )


def endorse_request(proposed: gateway_pb2.ProposedTransaction, channel_id: str) -> gateway_pb2.EndorseRequest:
    return gateway_pb2.EndorseRequest(
        transaction_id=proposed.transaction_id,
        channel_id=channel_id,
        proposed_transaction=proposed.proposal,
        endorsing_organizations=proposed.endorsing_organizations,
    )


def parse_prepared_transaction(envelope_payload: bytes) -> tuple[str, bytes]:
    """The channel id and the chaincode result inside a prepared transaction's payload.

    The result sits at Payload → Transaction.actions[0] → ChaincodeActionPayload →
    action.proposal_response_payload → ProposalResponsePayload.extension → ChaincodeAction.response.payload.

    Raises:
        ArgumentError: the payload holds no endorsed chaincode action.
    """
    payload = common_pb2.Payload.FromString(envelope_payload)
    channel_id = common_pb2.ChannelHeader.FromString(payload.header.channel_header).channel_id
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    if not transaction.actions:
        raise ArgumentError("prepared transaction has no actions")
    action_payload = transaction_pb2.ChaincodeActionPayload.FromString(transaction.actions[0].payload)
    response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
        action_payload.action.proposal_response_payload
    )
    chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
    return channel_id, chaincode_action.response.payload


def submit_request(prepared: gateway_pb2.PreparedTransaction, channel_id: str) -> gateway_pb2.SubmitRequest:
    return gateway_pb2.SubmitRequest(
        transaction_id=prepared.transaction_id, channel_id=channel_id, prepared_transaction=prepared.envelope
    )


def new_commit_status_request(
    transaction_id: str, channel_id: str, creator: bytes
) -> gateway_pb2.SignedCommitStatusRequest:
    """An unsigned commit status request for ``transaction_id``."""
    request = gateway_pb2.CommitStatusRequest(
        transaction_id=transaction_id, channel_id=channel_id, identity=creator
    )
    return gateway_pb2.SignedCommitStatusRequest(request=request.SerializeToString())


def start_position(start_block: int | None) -> ab_pb2.SeekPosition:
    """``specified`` at ``start_block``, or ``next_commit`` (the next block to be committed)."""
    if start_block is None:
        return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    if start_block < 0:
        raise ArgumentError(f"start block must be >= 0, got {start_block}")
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))


def new_chaincode_events_request(
    channel_id: str,
    chaincode_name: str,
    creator: bytes,
    start_block: int | None,
    after_transaction_id: str | None,
) -> gateway_pb2.SignedChaincodeEventsRequest:
    """An unsigned chaincode events request starting at ``start_block`` after ``after_transaction_id``."""
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel_id,
        chaincode_id=chaincode_name,
        identity=creator,
        start_position=start_position(start_block),
        after_transaction_id=after_transaction_id or "",
    )
    return gateway_pb2.SignedChaincodeEventsRequest(request=request.SerializeToString())


def parse_chaincode_events_request(request: bytes) -> gateway_pb2.ChaincodeEventsRequest:
    return gateway_pb2.ChaincodeEventsRequest.FromString(request)


def new_seek_payload(
    channel_id: str, creator: bytes, start_block: int | None, *, tls_cert_hash: bytes = b""
) -> bytes:
    """The serialized ``DELIVER_SEEK_INFO`` payload asking for every block from ``start_block`` on."""
    channel_header = new_channel_header(common_pb2.DELIVER_SEEK_INFO, channel_id, tls_cert_hash=tls_cert_hash)
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=os.urandom(NONCE_LENGTH))
    seek_info = ab_pb2.SeekInfo(
        start=start_position(start_block),
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=_MAX_BLOCK_NUMBER)),
        behavior=ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=signature_header.SerializeToString(),
        ),
        data=seek_info.SerializeToString(),
    )
    return payload.SerializeToString()


@dataclass(frozen=True, slots=True)
class Seek:
    """What a block events request asks for: its channel, first block and TLS certificate binding.

    ``start_block`` is ``None`` for the next block to be committed.
    """

    channel_id: str
    start_block: int | None
    tls_cert_hash: bytes


def new_seek_envelope(
    channel_id: str, creator: bytes, start_block: int | None, *, tls_cert_hash: bytes = b""
) -> tuple[common_pb2.Envelope, Seek]:
    """An unsigned block events request (the signature is added to the envelope later)."""
    payload = new_seek_payload(channel_id, creator, start_block, tls_cert_hash=tls_cert_hash)
    return common_pb2.Envelope(payload=payload), Seek(channel_id, start_block, tls_cert_hash)


def parse_seek_envelope(envelope: common_pb2.Envelope) -> Seek:
    """What a serialized block events request asks for.

    Raises:
        ArgumentError: the envelope is not a ``DELIVER_SEEK_INFO`` request.
    """
    payload = common_pb2.Payload.FromString(envelope.payload)
    channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    if channel_header.type != common_pb2.DELIVER_SEEK_INFO:
        raise ArgumentError(
            f"not a block events request: channel header type {channel_header.type}, expected "
            f"DELIVER_SEEK_INFO ({common_pb2.DELIVER_SEEK_INFO})"
        )
    start = ab_pb2.SeekInfo.FromString(payload.data).start
    which = start.WhichOneof("Type")
    if which == "specified":
        start_block: int | None = start.specified.number
    elif which == "oldest":
        start_block = 0
    else:
        start_block = None
    return Seek(channel_header.channel_id, start_block, channel_header.tls_cert_hash)


CHAIN_INFO_CHAINCODE = "qscc"
CHAIN_INFO_FUNCTION = "GetChainInfo"


def parse_chain_height(payload: bytes) -> int:
    """The ledger height (the number of the next block to commit) from a ``GetChainInfo`` result."""
    return int(ledger_pb2.BlockchainInfo.FromString(payload).height)


TRANSACTION_BLOCK_FUNCTION = "GetBlockByTxID"
_TRANSACTION_ID = re.compile(r"[0-9a-f]{64}")


def is_transaction_id(text: str) -> bool:
    """Whether ``text`` has the form of a Fabric transaction id (64 lower-case hex digits)."""
    return isinstance(text, str) and _TRANSACTION_ID.fullmatch(text) is not None


def parse_transaction_status(payload: bytes, transaction_id: str) -> Status:
    """How ``transaction_id`` was validated, from the ``GetBlockByTxID`` result (the block holding it).

    Raises:
        ValueError: the block does not hold the transaction, or cannot be decoded (the caller,
            :func:`~fabrx.gateway._network.transaction_status_of`, reports it as a ``GatewayError``).
    """
    try:
        block = common_pb2.Block.FromString(payload)
        validation = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
        for index, data in enumerate(block.data.data):
            envelope_payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(data).payload)
            header = common_pb2.ChannelHeader.FromString(envelope_payload.header.channel_header)
            if header.tx_id == transaction_id:
                # The first occurrence is the one the ledger indexes; a later one is a DUPLICATE_TXID.
                return Status(transaction_id, StatusCode.of(validation[index]), block.header.number)
    except (DecodeError, IndexError) as exc:
        raise ValueError(f"cannot decode the block of transaction {transaction_id}: {exc}") from exc
    raise ValueError(f"block {block.header.number} does not hold transaction {transaction_id}")


def with_proposal_signature(
    proposal_bytes: bytes, signature: bytes
) -> tuple[gateway_pb2.ProposedTransaction, str]:
    """Rebuild a proposal from its ``.bytes`` and a detached signature; also returns its channel id.

    Raises:
        ArgumentError: the bytes are not a proposal.
    """
    try:
        proposed = gateway_pb2.ProposedTransaction.FromString(proposal_bytes)
        proposed.proposal.signature = signature
        return proposed, proposal_channel_id(proposed.proposal.proposal_bytes)
    except DecodeError as exc:
        raise ArgumentError(f"not the bytes of a proposal: {exc}") from exc


def with_transaction_signature(
    transaction_bytes: bytes, signature: bytes
) -> tuple[gateway_pb2.PreparedTransaction, str, bytes]:
    """Rebuild a transaction from its ``.bytes`` and a detached signature.

    Returns the prepared transaction, its channel id and the chaincode result.

    Raises:
        ArgumentError: the bytes are not an endorsed transaction.
    """
    try:
        prepared = gateway_pb2.PreparedTransaction.FromString(transaction_bytes)
        prepared.envelope.signature = signature
        channel_id, result = parse_prepared_transaction(prepared.envelope.payload)
    except DecodeError as exc:
        raise ArgumentError(f"not the bytes of an endorsed transaction: {exc}") from exc
    return prepared, channel_id, result


def with_commit_signature(
    commit_bytes: bytes, signature: bytes
) -> tuple[gateway_pb2.SignedCommitStatusRequest, str]:
    """Rebuild a commit status request from its ``.bytes`` and a detached signature; with its tx id.

    Raises:
        ArgumentError: the bytes are not a commit status request.
    """
    try:
        signed = gateway_pb2.SignedCommitStatusRequest.FromString(commit_bytes)
        signed.signature = signature
        return signed, gateway_pb2.CommitStatusRequest.FromString(signed.request).transaction_id
    except DecodeError as exc:
        raise ArgumentError(f"not the bytes of a commit status request: {exc}") from exc


def with_events_signature(
    request_bytes: bytes, signature: bytes
) -> tuple[gateway_pb2.SignedChaincodeEventsRequest, gateway_pb2.ChaincodeEventsRequest]:
    """Rebuild a chaincode events request from its ``.bytes`` and a detached signature.

    Raises:
        ArgumentError: the bytes are not a chaincode events request.
    """
    try:
        signed = gateway_pb2.SignedChaincodeEventsRequest.FromString(request_bytes)
        signed.signature = signature
        return signed, gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    except DecodeError as exc:
        raise ArgumentError(f"not the bytes of a chaincode events request: {exc}") from exc


def with_seek_signature(request_bytes: bytes, signature: bytes) -> tuple[common_pb2.Envelope, Seek]:
    """Rebuild a block events request from its ``.bytes`` and a detached signature.

    Raises:
        ArgumentError: the bytes are not a block events request.
    """
    try:
        envelope = common_pb2.Envelope.FromString(request_bytes)
        envelope.signature = signature
        return envelope, parse_seek_envelope(envelope)
    except DecodeError as exc:
        raise ArgumentError(f"not a block events request: {exc}") from exc
