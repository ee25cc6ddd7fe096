"""A channel as seen through the Gateway: its contracts and its events."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from .._protocol import new_transaction_context
from ..errors import ArgumentError, ConnectionFailure, GatewayError
from . import _messages as messages
from ._blockevents import B, Block, BlockAndPrivateData, BlockEventsRequest, FilteredBlock
from ._checkpoint import Checkpoint
from ._client import DeliverKind
from ._commit import Commit
from ._contract import Contract
from ._events import ChaincodeEventsRequest
from ._events_model import ChaincodeEvent
from ._proposal import Proposal
from ._session import Session
from ._signing import SigningIdentity
from ._status import Status
from ._stream import EventStream

_log = logging.getLogger("fabrx.gateway")


def start_of(start_block: int | None, checkpoint: Checkpoint | None) -> tuple[int | None, str | None]:
    """The block to start from and the transaction to skip past: the checkpoint wins over ``start_block``."""
    if checkpoint is not None and checkpoint.block_number is not None:
        return checkpoint.block_number, checkpoint.transaction_id
    return start_block, None


class NetworkState:
    """A channel, independent of transport (shared by sync and asyncio)."""

    __slots__ = ("_channel_id", "_signing")

    def __init__(self, signing: SigningIdentity, channel_id: str) -> None:
        self._signing = signing
        self._channel_id = channel_id

    @property
    def name(self) -> str:
        """The channel id."""
        return self._channel_id

    def _needs_pinned_start(self, start_block: int | None, reconnect: object) -> bool:
        # A stream starting at "next commit" cannot resume without a gap before its first event,
        # unless that position is pinned to a block number up front.
        return start_block is None and reconnect is not None and self._signing.signer is not None

    def _chain_info_proposal(self) -> gateway_pb2.ProposedTransaction:
        return messages.new_proposed_transaction(
            new_transaction_context(self._signing.creator),
            self._channel_id,
            messages.CHAIN_INFO_CHAINCODE,
            messages.CHAIN_INFO_FUNCTION,
            [self._channel_id],
            transient=None,
            endorsing_organizations=None,
        )

    def _transaction_status_proposal(self, transaction_id: str) -> gateway_pb2.ProposedTransaction:
        if not messages.is_transaction_id(transaction_id):
            raise ArgumentError(
                f"not a transaction id: {transaction_id!r} (expected 64 lower-case hex digits)"
            )
        return messages.new_proposed_transaction(
            new_transaction_context(self._signing.creator),
            self._channel_id,
            messages.CHAIN_INFO_CHAINCODE,
            messages.TRANSACTION_BLOCK_FUNCTION,
            [self._channel_id, transaction_id],
            transient=None,
            endorsing_organizations=None,
        )

    def _commit_status_request(self, transaction_id: str) -> gateway_pb2.SignedCommitStatusRequest:
        if not messages.is_transaction_id(transaction_id):
            raise ArgumentError(
                f"not a transaction id: {transaction_id!r} (expected 64 lower-case hex digits)"
            )
        return messages.new_commit_status_request(transaction_id, self._channel_id, self._signing.creator)

    def _chaincode_events_messages(
        self, chaincode_name: str, start_block: int | None, after_transaction_id: str | None
    ) -> tuple[gateway_pb2.SignedChaincodeEventsRequest, gateway_pb2.ChaincodeEventsRequest]:
        signed = messages.new_chaincode_events_request(
            self._channel_id, chaincode_name, self._signing.creator, start_block, after_transaction_id
        )
        return signed, messages.parse_chaincode_events_request(signed.request)

    def _seek_messages(
        self, start_block: int | None, tls_cert_hash: bytes
    ) -> tuple[common_pb2.Envelope, messages.Seek]:
        return messages.new_seek_envelope(
            self._channel_id, self._signing.creator, start_block, tls_cert_hash=tls_cert_hash
        )


def transaction_status_of(transaction_id: str, evaluate: Callable[[], bytes]) -> Status | None:
    """The answer of :meth:`Network.transaction_status` from one ``GetBlockByTxID`` evaluation."""
    try:
        payload = evaluate()
    except GatewayError as error:
        if _NOT_IN_LEDGER in str(error):
            return None
        raise
    try:
        return messages.parse_transaction_status(payload, transaction_id)
    except ValueError as exc:
        raise GatewayError(str(exc), transaction_id=transaction_id) from exc


# How the ledger's block index answers for a transaction id it does not hold.
_NOT_IN_LEDGER = "no such transaction ID"


def pin_failed(channel_id: str, error: GatewayError) -> None:
    """Log that the start could not be pinned; re-raise when the peer is unreachable anyway."""
    if isinstance(error, ConnectionFailure):
        raise error
    _log.warning(
        "cannot read the height of channel %s (%s); events start at the next commit, and a reconnect "
        "before the first event may miss events",
        channel_id,
        error.code,
    )


class Network(NetworkState):
    """A channel reached through the Gateway. Thread-safe."""

    __slots__ = ("_session",)

    def __init__(self, session: Session, channel_id: str) -> None:
        super().__init__(session.signing, channel_id)
        self._session = session

    def get_contract(self, chaincode_name: str, contract_name: str | None = None) -> Contract:
        """The chaincode ``chaincode_name`` (and its contract ``contract_name``, if it has several)."""
        return Contract(self._session, self._channel_id, chaincode_name, contract_name)

    def transaction_status(
        self, transaction_id: str, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> Status | None:
        """Ask the ledger whether ``transaction_id`` committed on this channel, and how it was validated.

        Read from the gateway peer's ledger (``qscc GetBlockByTxID``, allowed to channel readers). Use it
        before retrying after :class:`~fabrx.errors.CommitStatusUnknown`: a :class:`Status` means the
        transaction is in block ``block_number`` (``successful`` when ``VALID``: do not submit it
        again); ``None`` means this peer's ledger does not hold it *yet*. A transaction still in
        ordering can commit later, so either wait for it (:meth:`commit_status`) or re-submit the same
        signed transaction, which commits at most once.

        Raises:
            ArgumentError: ``transaction_id`` is not a transaction id.
            GatewayError: the peer refused the query.
            ConnectionFailure: the gateway peer cannot be reached.
        """
        proposal = Proposal(
            self._session, self._transaction_status_proposal(transaction_id), self._channel_id
        )
        return transaction_status_of(
            transaction_id, lambda: proposal.evaluate(timeout=timeout, cancel=cancel)
        )

    def commit_status(
        self, transaction_id: str, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> Status:
        """Wait until ``transaction_id`` is committed on the gateway peer, and return how it was validated.

        A fresh commit status request, for a transaction submitted earlier (by this or another process,
        through this or another gateway). Returns at once for a transaction already committed.

        Raises:
            CommitStatusUnknown: no answer within ``timeout`` (default: the Gateway's commit status
                timeout) or the peer became unreachable; the transaction may still commit.
            ArgumentError: ``transaction_id`` is not a transaction id.
            IdentityError: the Gateway has no signer.
        """
        request = self._commit_status_request(transaction_id)
        return Commit(self._session, request, transaction_id).status(timeout=timeout, cancel=cancel)

    def _pinned(self, start_block: int | None) -> int | None:
        if not self._needs_pinned_start(start_block, self._session.reconnect):
            return start_block
        try:
            payload = Proposal(self._session, self._chain_info_proposal(), self._channel_id).evaluate()
        except GatewayError as error:
            pin_failed(self._channel_id, error)
            return None
        return messages.parse_chain_height(payload)

    def new_chaincode_events_request(
        self, chaincode_name: str, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> ChaincodeEventsRequest:
        """A request for the events of ``chaincode_name``, to sign offline or open with ``.events()``.

        Starts at ``checkpoint`` (after its transaction), else at ``start_block``, else at the next
        block to commit. In that last case, when reconnecting is enabled and the Gateway has a signer,
        the current height is read first (``qscc GetChainInfo``, allowed to channel readers) so that a
        reconnect before the first event cannot skip events.

        Raises:
            ConnectionFailure: the gateway peer cannot be reached while reading the height.
        """
        block, after = start_of(start_block, checkpoint)
        signed, request = self._chaincode_events_messages(chaincode_name, self._pinned(block), after)
        return ChaincodeEventsRequest(self._session, signed, request)

    def chaincode_events(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[ChaincodeEvent]:
        """Listen for events of ``chaincode_name``; see :meth:`ChaincodeEventsRequest.events`.

        The stream reconnects after the peer restarts and resumes after the last event it received,
        so every event arrives exactly once. Use it as a context manager, or call ``close()``.
        """
        request = self.new_chaincode_events_request(
            chaincode_name, start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)

    def _blocks_request(
        self, kind: DeliverKind, start_block: int | None, checkpoint: Checkpoint | None
    ) -> BlockEventsRequest[B]:
        block, _ = start_of(start_block, checkpoint)
        envelope, seek = self._seek_messages(self._pinned(block), self._session.tls_cert_hash)
        return BlockEventsRequest(self._session, kind, envelope, seek)

    def new_block_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[Block]:
        """A request for full blocks, to sign offline or open with ``.events()``.

        Starts at ``checkpoint.block_number`` (the block to resume from), else at ``start_block``, else
        at the next block to commit (whose number is read first, as for
        :meth:`new_chaincode_events_request`, when the Gateway can sign and reconnects).

        Raises:
            ConnectionFailure: the gateway peer cannot be reached while reading the height.
        """
        return self._blocks_request(DeliverKind.BLOCK, start_block, checkpoint)

    def new_filtered_block_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[FilteredBlock]:
        """A request for filtered blocks; see :meth:`new_block_events_request`."""
        return self._blocks_request(DeliverKind.FILTERED_BLOCK, start_block, checkpoint)

    def new_block_and_private_data_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[BlockAndPrivateData]:
        """A request for blocks with private data; see :meth:`new_block_events_request`."""
        return self._blocks_request(DeliverKind.BLOCK_AND_PRIVATE_DATA, start_block, checkpoint)

    def block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[Block]:
        """Listen for full blocks (``common.Block``) from the peer's Deliver service.

        Resumes after a reconnect from the block after the last one received. ``checkpoint`` (its
        ``block_number``) wins over ``start_block``; by default blocks start at the next commit. See
        :meth:`BlockEventsRequest.events`.
        """
        request = self.new_block_events_request(start_block=start_block, checkpoint=checkpoint)
        return request.events(timeout=timeout)

    def filtered_block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[FilteredBlock]:
        """Listen for filtered blocks (``peer.FilteredBlock``: transaction ids, validation codes, events)."""
        request = self.new_filtered_block_events_request(start_block=start_block, checkpoint=checkpoint)
        return request.events(timeout=timeout)

    def block_and_private_data_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[BlockAndPrivateData]:
        """Listen for blocks with the private data this client's organization may read."""
        request = self.new_block_and_private_data_events_request(
            start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)
