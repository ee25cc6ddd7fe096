"""The asyncio Gateway, Network and Contract: thin shells over the shared state in ``fabrx.gateway``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType

import grpc.aio

from .. import hashing
from ..admin.definition import CommittedDefinition
from ..endpoint import Endpoint
from ..errors import EndorseError, GatewayError
from ..gateway import _messages as messages
from ..gateway._blockevents import B, Block, BlockAndPrivateData, FilteredBlock
from ..gateway._channelpolicy import ChannelPolicies
from ..gateway._checkpoint import Checkpoint
from ..gateway._client import DeliverKind
from ..gateway._contract import ContractState, check_collections, check_committed
from ..gateway._deadline import NO_DEADLINE, Deadline
from ..gateway._events_model import ChaincodeEvent
from ..gateway._gateway import resolve_channel_source
from ..gateway._messages import Argument
from ..gateway._network import NetworkState, pin_failed, start_of, transaction_status_of
from ..gateway._options import Reconnect, Timeouts
from ..gateway._signing import SigningIdentity
from ..gateway._status import Status
from ..hashing import Hash
from ..identity import Identity
from ..signing import Signer
from ._client import AioGatewayClient, new_aio_channel
from ._events import BlockEventsRequest, ChaincodeEventsRequest, EventStream
from ._proposal import Commit, Proposal, Transaction
from ._session import Session


class Contract(ContractState):
    """A chaincode's contract; the async twin of :class:`fabrx.gateway.Contract` (same errors)."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, channel_id: str, chaincode_name: str, contract_name: str | None
    ) -> None:
        super().__init__(session.signing, channel_id, chaincode_name, contract_name, session.endorsers)
        self._session = session

    async def _definition(self, deadline: Deadline = NO_DEADLINE) -> CommittedDefinition:
        cached = self._cached_definition()
        if cached is not None:
            return cached
        try:
            proposal = Proposal(self._session, self._definition_proposal(), self._channel_id)
            payload = await proposal.evaluate(timeout=deadline.left())
        except GatewayError as error:
            raise self._unreadable(error) from error
        return self._store_definition(payload)

    async def _channel_policies(self, deadline: Deadline = NO_DEADLINE) -> ChannelPolicies:
        cached = self._cached_channel_policies()
        if cached is not None:
            return cached
        try:
            proposal = Proposal(self._session, self._config_proposal(), self._channel_id)
            payload = await proposal.evaluate(timeout=deadline.left())
        except GatewayError as error:
            raise self._config_unreadable(error) from error
        return self._store_channel_policies(payload)

    async def _plan(
        self, kind: str, collections: tuple[str, ...], deadline: Deadline = NO_DEADLINE
    ) -> tuple[str, ...]:
        definition = await self._definition(deadline)
        policies = None
        if self._needs_channel_policies(definition, kind, collections):
            policies = await self._channel_policies(deadline)
        return self._choose(definition, kind, collections, policies)

    async def _organizations(
        self,
        kind: str,
        endorsing_organizations: Sequence[str] | None,
        collections: Sequence[str] | None,
        deadline: Deadline,
    ) -> Sequence[str] | None:
        names = check_collections(collections)
        if endorsing_organizations is not None or not names:
            return endorsing_organizations
        return await self._plan(kind, names, deadline)

    async def endorsing_organizations_for(self, collections: Sequence[str]) -> tuple[str, ...]:
        """The MSP ids that should endorse a write to ``collections``; see the sync twin."""
        return await self._plan("endorse", check_collections(collections))

    def new_proposal(
        self,
        transaction_name: str,
        *,
        args: Iterable[Argument] = (),
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> Proposal:
        """Build a proposal to evaluate or endorse step by step (nothing is sent or signed yet)."""
        proposed = self._proposed(transaction_name, args, transient, endorsing_organizations)
        return Proposal(self._session, proposed, self._channel_id)

    async def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        collections: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Run a transaction without changing the ledger; return its result.

        ``timeout`` bounds the whole call; cancelling the awaiting task cancels the request. See
        :meth:`fabrx.gateway.Contract.evaluate_transaction`.
        """
        deadline = Deadline(timeout)
        organizations = await self._organizations("evaluate", endorsing_organizations, collections, deadline)
        proposal = self.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=organizations
        )
        return await proposal.evaluate(timeout=deadline.left())

    async def submit_async(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        collections: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> tuple[bytes, Commit]:
        """Endorse and submit without waiting for the commit; return the result and the Commit."""
        return await self._submit_async(
            transaction_name, args, transient, endorsing_organizations, collections, Deadline(timeout)
        )

    async def _submit_async(
        self,
        transaction_name: str,
        args: Sequence[Argument],
        transient: Mapping[str, Argument] | None,
        endorsing_organizations: Sequence[str] | None,
        collections: Sequence[str] | None,
        deadline: Deadline,
    ) -> tuple[bytes, Commit]:
        organizations = await self._organizations("endorse", endorsing_organizations, collections, deadline)
        proposal = self.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=organizations
        )
        try:
            transaction = await proposal.endorse(timeout=deadline.left())
        except EndorseError as error:
            if organizations is not endorsing_organizations:
                self._forget_plan(error)
            raise
        return transaction.result, await transaction.submit(timeout=deadline.left())

    async def submit_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        collections: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Endorse, submit and wait for a valid commit; raises CommitError when it is invalid.

        ``timeout`` bounds the whole call; see :meth:`fabrx.gateway.Contract.submit_transaction`.
        Cancelling the awaiting task cancels the request in flight: once the submit was sent, the
        outcome is unknown (use the step-by-step calls to keep the transaction id and ask the ledger).
        """
        deadline = Deadline(timeout)
        result, commit = await self._submit_async(
            transaction_name, args, transient, endorsing_organizations, collections, deadline
        )
        status = await commit.status(timeout=deadline.left())
        if collections and endorsing_organizations is None:
            self._forget_plan(status)
        check_committed(status)
        return result


def _reraise(error: GatewayError) -> Callable[[], bytes]:
    def evaluate() -> bytes:
        raise error

    return evaluate


class Network(NetworkState):
    """A channel; the async twin of :class:`fabrx.gateway.Network`."""

    __slots__ = ("_session",)

    def __init__(self, session: Session, channel_id: str) -> None:
        super().__init__(session.signing, channel_id)
        self._session = session

    def get_contract(self, chaincode_name: str, contract_name: str | None = None) -> Contract:
        return Contract(self._session, self._channel_id, chaincode_name, contract_name)

    async def transaction_status(self, transaction_id: str, *, timeout: float | None = None) -> Status | None:
        """Ask the ledger whether ``transaction_id`` committed; see
        :meth:`fabrx.gateway.Network.transaction_status`."""
        proposal = Proposal(
            self._session, self._transaction_status_proposal(transaction_id), self._channel_id
        )
        try:
            payload = await proposal.evaluate(timeout=timeout)
        except GatewayError as error:
            return transaction_status_of(transaction_id, _reraise(error))
        return transaction_status_of(transaction_id, lambda: payload)

    async def commit_status(self, transaction_id: str, *, timeout: float | None = None) -> Status:
        """Wait until ``transaction_id`` is committed; see :meth:`fabrx.gateway.Network.commit_status`."""
        request = self._commit_status_request(transaction_id)
        return await Commit(self._session, request, transaction_id).status(timeout=timeout)

    async def _pinned(self, start_block: int | None) -> int | None:
        if not self._needs_pinned_start(start_block, self._session.reconnect):
            return start_block
        try:
            payload = await Proposal(self._session, self._chain_info_proposal(), self._channel_id).evaluate()
        except GatewayError as error:
            pin_failed(self._channel_id, error)
            return None
        return messages.parse_chain_height(payload)

    async def new_chaincode_events_request(
        self, chaincode_name: str, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> ChaincodeEventsRequest:
        """A request for the events of ``chaincode_name``, to sign offline or open with ``.events()``."""
        block, after = start_of(start_block, checkpoint)
        signed, request = self._chaincode_events_messages(chaincode_name, await self._pinned(block), after)
        return ChaincodeEventsRequest(self._session, signed, request)

    async def chaincode_events(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[ChaincodeEvent]:
        """Listen for events of ``chaincode_name``; resumes after peer restarts, each event exactly once."""
        request = await self.new_chaincode_events_request(
            chaincode_name, start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)

    async def _blocks_request(
        self, kind: DeliverKind, start_block: int | None, checkpoint: Checkpoint | None
    ) -> BlockEventsRequest[B]:
        block, _ = start_of(start_block, checkpoint)
        envelope, seek = self._seek_messages(await self._pinned(block), self._session.tls_cert_hash)
        return BlockEventsRequest(self._session, kind, envelope, seek)

    async def new_block_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[Block]:
        """A request for full blocks, to sign offline or open with ``.events()``; see the sync twin."""
        return await self._blocks_request(DeliverKind.BLOCK, start_block, checkpoint)

    async def new_filtered_block_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[FilteredBlock]:
        """A request for filtered blocks; see :meth:`new_block_events_request`."""
        return await self._blocks_request(DeliverKind.FILTERED_BLOCK, start_block, checkpoint)

    async def new_block_and_private_data_events_request(
        self, *, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[BlockAndPrivateData]:
        """A request for blocks with private data; see :meth:`new_block_events_request`."""
        return await self._blocks_request(DeliverKind.BLOCK_AND_PRIVATE_DATA, start_block, checkpoint)

    async def block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[Block]:
        """Listen for full blocks; see :meth:`fabrx.gateway.Network.block_events`."""
        request = await self.new_block_events_request(start_block=start_block, checkpoint=checkpoint)
        return request.events(timeout=timeout)

    async def filtered_block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[FilteredBlock]:
        """Listen for filtered blocks."""
        request = await self.new_filtered_block_events_request(start_block=start_block, checkpoint=checkpoint)
        return request.events(timeout=timeout)

    async def block_and_private_data_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: float | None = None,
    ) -> EventStream[BlockAndPrivateData]:
        """Listen for blocks with the private data this client's organization may read."""
        request = await self.new_block_and_private_data_events_request(
            start_block=start_block, checkpoint=checkpoint
        )
        return request.events(timeout=timeout)


class Gateway:
    """An asyncio connection to a Gateway peer; use it from one event loop."""

    def __init__(self, session: Session, channel: grpc.aio.Channel, *, owns_channel: bool) -> None:
        self._session = session
        self._channel = channel
        self._owns_channel = owns_channel

    @property
    def identity(self) -> Identity:
        return self._session.signing.identity

    def get_network(self, channel_name: str) -> Network:
        return Network(self._session, channel_name)

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        proposed, channel_id = messages.with_proposal_signature(proposal_bytes, signature)
        return Proposal(self._session, proposed, channel_id)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        prepared, channel_id, result = messages.with_transaction_signature(transaction_bytes, signature)
        return Transaction(self._session, prepared, channel_id, result)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> Commit:
        signed, transaction_id = messages.with_commit_signature(commit_bytes, signature)
        return Commit(self._session, signed, transaction_id)

    def new_signed_chaincode_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> ChaincodeEventsRequest:
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
        """Rebuild a full-block events request; see the sync ``new_signed_block_events_request``."""
        return self._signed_blocks(DeliverKind.BLOCK, request_bytes, signature)

    def new_signed_filtered_block_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> BlockEventsRequest[FilteredBlock]:
        """Rebuild a filtered-block events request from its ``.bytes`` and an offline signature."""
        return self._signed_blocks(DeliverKind.FILTERED_BLOCK, request_bytes, signature)

    def new_signed_block_and_private_data_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> BlockEventsRequest[BlockAndPrivateData]:
        """Rebuild a block-and-private-data events request from its ``.bytes`` and an offline signature."""
        return self._signed_blocks(DeliverKind.BLOCK_AND_PRIVATE_DATA, request_bytes, signature)

    async def close(self) -> None:
        """Close the gRPC channel if fabrx opened it; a caller-owned channel is left open."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def connect(
    endpoint: Endpoint | None = None,
    *,
    channel: grpc.aio.Channel | None = None,
    identity: Identity,
    signer: Signer | None = None,
    hash: Hash = hashing.sha256,
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen value object
    reconnect: Reconnect | None = Reconnect(),  # noqa: B008 - frozen value object
    tls_client_cert: bytes | None = None,
) -> Gateway:
    """Connect to a Gateway peer from asyncio code; arguments as :func:`fabrx.connect`.

    ``channel`` must be a ``grpc.aio.Channel``. Call it inside the event loop that will use it.

    Raises:
        ValueError: neither or both of ``endpoint`` and ``channel`` are given.
        IdentityError: ``identity`` or the client TLS certificate is unusable.
    """
    cert_hash = resolve_channel_source(endpoint, channel, tls_client_cert)
    aio_channel = new_aio_channel(endpoint) if endpoint is not None else channel
    assert aio_channel is not None
    session = Session(
        client=AioGatewayClient(aio_channel),
        signing=SigningIdentity(identity, signer, hash),
        timeouts=timeouts,
        reconnect=reconnect,
        tls_cert_hash=cert_hash,
    )
    return Gateway(session, aio_channel, owns_channel=endpoint is not None)
