"""A smart contract on a channel: evaluate and submit its transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from fabric_protos.gateway import gateway_pb2

from .._protocol import new_transaction_context
from ..admin.definition import CommittedDefinition
from ..errors import ArgumentTypeError, CommitError, EndorseError, GatewayError
from . import _messages as messages
from ._channelpolicy import ChannelPolicies, config_query, parse_config
from ._commit import Commit
from ._deadline import NO_DEADLINE, Deadline
from ._endorsers import (
    EndorserCache,
    collection_readers,
    config_unreadable,
    definition_query,
    definition_unreadable,
    needs_channel_policies,
    parse_definition,
    select_endorsers,
)
from ._messages import Argument
from ._proposal import Proposal
from ._session import Session
from ._signing import SigningIdentity
from ._status import Status, StatusCode


def check_committed(status: Status) -> None:
    """Raise :class:`~fabrx.errors.CommitError` unless ``status`` is ``VALID``."""
    if not status.successful:
        raise CommitError(status.transaction_id, status.code.name, status.block_number)


def check_collections(collections: Sequence[str] | None) -> tuple[str, ...]:
    """The collection names as a tuple.

    Raises:
        ArgumentTypeError: ``collections`` is a single string (it would be read as one name per character).
    """
    if isinstance(collections, str):
        raise ArgumentTypeError(f"collections must be a list of collection names, e.g. [{collections!r}]")
    return tuple(collections or ())


class ContractState:
    """Names a chaincode (and optionally one contract in it) on a channel; builds its proposals."""

    __slots__ = ("_chaincode_name", "_channel_id", "_contract_name", "_endorsers", "_signing")

    def __init__(
        self,
        signing: SigningIdentity,
        channel_id: str,
        chaincode_name: str,
        contract_name: str | None,
        endorsers: EndorserCache,
    ) -> None:
        self._signing = signing
        self._channel_id = channel_id
        self._chaincode_name = chaincode_name
        self._contract_name = contract_name
        self._endorsers = endorsers

    @property
    def channel_id(self) -> str:
        return self._channel_id

    @property
    def chaincode_name(self) -> str:
        return self._chaincode_name

    @property
    def contract_name(self) -> str | None:
        return self._contract_name

    def _proposed(
        self,
        transaction_name: str,
        args: Iterable[Argument],
        transient: Mapping[str, Argument] | None,
        endorsing_organizations: Sequence[str] | None,
    ) -> gateway_pb2.ProposedTransaction:
        return messages.new_proposed_transaction(
            new_transaction_context(self._signing.creator),
            self._channel_id,
            self._chaincode_name,
            messages.qualified_name(self._contract_name, transaction_name),
            args,
            transient=transient,
            endorsing_organizations=endorsing_organizations,
        )

    # -- endorsers for private data: the pure half; the sync and asyncio contracts read the definition

    def _definition_proposal(self) -> gateway_pb2.ProposedTransaction:
        return definition_query(self._signing, self._channel_id, self._chaincode_name)

    def _cached_definition(self) -> CommittedDefinition | None:
        return self._endorsers.definition(self._channel_id, self._chaincode_name)

    def _store_definition(self, payload: bytes) -> CommittedDefinition:
        definition = parse_definition(self._chaincode_name, payload)
        self._endorsers.store(self._channel_id, definition)
        return definition

    def _unreadable(self, error: GatewayError) -> GatewayError:
        return definition_unreadable(self._channel_id, self._chaincode_name, error)

    def _config_proposal(self) -> gateway_pb2.ProposedTransaction:
        return config_query(self._signing, self._channel_id)

    def _needs_channel_policies(
        self, definition: CommittedDefinition, kind: str, collections: tuple[str, ...]
    ) -> bool:
        return kind == "endorse" and needs_channel_policies(definition, collections)

    def _cached_channel_policies(self) -> ChannelPolicies | None:
        return self._endorsers.channel_policies(self._channel_id)

    def _store_channel_policies(self, payload: bytes) -> ChannelPolicies:
        policies = parse_config(payload)
        self._endorsers.store_channel_policies(self._channel_id, policies)
        return policies

    def _config_unreadable(self, error: GatewayError) -> GatewayError:
        return config_unreadable(self._channel_id, error)

    def _choose(
        self,
        definition: CommittedDefinition,
        kind: str,
        collections: tuple[str, ...],
        policies: ChannelPolicies | None = None,
    ) -> tuple[str, ...]:
        own = self._signing.identity.msp_id

        def choose() -> tuple[str, ...]:
            if kind != "endorse":
                return collection_readers(
                    definition, collections, own_msp_id=own, channel_id=self._channel_id
                )
            return select_endorsers(
                definition,
                collections,
                own_msp_id=own,
                channel_id=self._channel_id,
                channel_policies=policies,
            )

        return self._endorsers.plan(
            self._channel_id, definition, kind, collections, choose, channel_policies=policies
        )

    def _forget_plan(self, error: BaseException | Status) -> None:
        # A plan from a stale definition (the chaincode was upgraded) fails this way; read it again.
        if isinstance(error, Status):
            if error.code is not StatusCode.ENDORSEMENT_POLICY_FAILURE:
                return
        elif not isinstance(error, EndorseError):
            return
        self._endorsers.invalidate(self._channel_id, self._chaincode_name)


class Contract(ContractState):
    """A chaincode's contract, reached through the Gateway. Thread-safe.

    Transaction arguments and transient values are ``str`` (sent UTF-8 encoded) or ``bytes``.
    ``endorsing_organizations`` pins the MSP ids that must endorse (for an evaluation: the
    organizations whose peers may run it). ``collections`` names the private data collections the
    transaction reads or writes: fabrx then chooses the organizations itself from the chaincode
    definition on the ledger (see :meth:`endorsing_organizations_for`); ``endorsing_organizations``,
    when also given, wins.
    """

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, channel_id: str, chaincode_name: str, contract_name: str | None
    ) -> None:
        super().__init__(session.signing, channel_id, chaincode_name, contract_name, session.endorsers)
        self._session = session

    def _definition(self, deadline: Deadline = NO_DEADLINE) -> CommittedDefinition:
        cached = self._cached_definition()
        if cached is not None:
            return cached
        try:
            proposal = Proposal(self._session, self._definition_proposal(), self._channel_id)
            payload = proposal.evaluate(timeout=deadline.left(), cancel=deadline.cancel)
        except GatewayError as error:
            raise self._unreadable(error) from error
        return self._store_definition(payload)

    def _channel_policies(self, deadline: Deadline = NO_DEADLINE) -> ChannelPolicies:
        cached = self._cached_channel_policies()
        if cached is not None:
            return cached
        try:
            proposal = Proposal(self._session, self._config_proposal(), self._channel_id)
            payload = proposal.evaluate(timeout=deadline.left(), cancel=deadline.cancel)
        except GatewayError as error:
            raise self._config_unreadable(error) from error
        return self._store_channel_policies(payload)

    def _plan(
        self, kind: str, collections: tuple[str, ...], deadline: Deadline = NO_DEADLINE
    ) -> tuple[str, ...]:
        definition = self._definition(deadline)
        policies = None
        if self._needs_channel_policies(definition, kind, collections):
            policies = self._channel_policies(deadline)
        return self._choose(definition, kind, collections, policies)

    def _organizations(
        self,
        kind: str,
        endorsing_organizations: Sequence[str] | None,
        collections: Sequence[str] | None,
        deadline: Deadline,
    ) -> Sequence[str] | None:
        names = check_collections(collections)
        if endorsing_organizations is not None or not names:
            return endorsing_organizations
        return self._plan(kind, names, deadline)

    def endorsing_organizations_for(self, collections: Sequence[str]) -> tuple[str, ...]:
        """The MSP ids that should endorse a transaction writing ``collections``.

        The smallest set of organizations satisfying the chaincode endorsement policy, the endorsement
        policy of each collection that has one, and holding at least one member of each collection that
        has none; the client's own organization first. Read from the committed chaincode definition
        (``_lifecycle``, on the client's own organization) and cached per chaincode sequence; a policy
        that is a channel policy reference (the default ``/Channel/Application/Endorsement``, usually
        ``MAJORITY Endorsement`` over the application organizations) is resolved from the channel
        configuration (``cscc GetChannelConfig``), cached the same way. Pass the result as
        ``endorsing_organizations`` to :meth:`new_proposal` for step-by-step submits.

        Raises:
            EndorseError: an unknown collection, a channel policy that cannot be evaluated (a policy type
                other than signature or ImplicitMeta: name the organizations yourself), no satisfying
                set, or the definition or channel configuration is unreadable.
            ConnectionFailure: the gateway peer cannot be reached.
        """
        return self._plan("endorse", check_collections(collections))

    def new_proposal(
        self,
        transaction_name: str,
        *,
        args: Iterable[Argument] = (),
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> Proposal:
        """Build a proposal to :meth:`~Proposal.evaluate` or :meth:`~Proposal.endorse` step by step.

        Nothing is sent or signed yet, so a Gateway without a signer can sign ``proposal.digest``
        offline and rebuild it with ``gateway.new_signed_proposal``.
        """
        proposed = self._proposed(transaction_name, args, transient, endorsing_organizations)
        return Proposal(self._session, proposed, self._channel_id)

    def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        collections: Sequence[str] | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """Run a transaction function without changing the ledger (a query); return its result.

        With ``collections`` (and no ``endorsing_organizations``) it runs on a peer of an organization
        that is a member of every named collection, the client's own first. ``timeout`` bounds the
        whole call in seconds (default: the Gateway's evaluate deadline per request); setting ``cancel``
        (a ``threading.Event``, from any thread) cancels it (``GatewayError``, code ``CANCELLED``).

        Raises:
            GatewayError: the chaincode or a peer returned an error, or ``timeout`` passed (code
                ``DEADLINE_EXCEEDED``).
            EndorseError: ``collections`` names an unknown collection or one no organization shares.
            ConnectionFailure: the gateway peer cannot be reached.
            ArgumentError: ``timeout`` is not a positive number.
        """
        deadline = Deadline(timeout, cancel=cancel)
        organizations = self._organizations("evaluate", endorsing_organizations, collections, deadline)
        return self.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=organizations
        ).evaluate(timeout=deadline.left(), cancel=cancel)

    def submit_async(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        collections: Sequence[str] | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[bytes, Commit]:
        """Endorse and submit a transaction without waiting for it to commit.

        Returns the chaincode result and the :class:`Commit` whose ``status()`` waits for the commit.
        ``collections``: see :meth:`endorsing_organizations_for`. ``timeout`` bounds endorse and submit
        together, in seconds; setting ``cancel`` cancels the request in flight.

        Raises:
            EndorseError: endorsement failed, or no endorsers could be chosen; nothing was ordered.
            SubmitError: ordering refused the transaction.
            CommitStatusUnknown: the submit was cut off (peer gone, ``timeout``): it may commit.
            ConnectionFailure: the gateway peer cannot be reached; nothing was ordered.
            ArgumentError: ``timeout`` is not a positive number.
        """
        return self._submit_async(
            transaction_name,
            args,
            transient,
            endorsing_organizations,
            collections,
            Deadline(timeout, cancel=cancel),
        )

    def _submit_async(
        self,
        transaction_name: str,
        args: Sequence[Argument],
        transient: Mapping[str, Argument] | None,
        endorsing_organizations: Sequence[str] | None,
        collections: Sequence[str] | None,
        deadline: Deadline,
    ) -> tuple[bytes, Commit]:
        organizations = self._organizations("endorse", endorsing_organizations, collections, deadline)
        proposal = self.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=organizations
        )
        try:
            transaction = proposal.endorse(timeout=deadline.left(), cancel=deadline.cancel)
        except EndorseError as error:
            if organizations is not endorsing_organizations:
                self._forget_plan(error)
            raise
        return transaction.result, transaction.submit(timeout=deadline.left(), cancel=deadline.cancel)

    def submit_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        collections: Sequence[str] | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """Endorse, submit and wait until the transaction commits as valid; return its result.

        ``collections`` names the private data collections it writes; fabrx then chooses the endorsing
        organizations (see :meth:`endorsing_organizations_for`) unless ``endorsing_organizations`` is given.
        ``timeout`` bounds the whole call in seconds, commit included (default: the Gateway's
        :class:`Timeouts`, per step). When it passes before the submit, nothing was ordered
        (``EndorseError``/``GatewayError`` with code ``DEADLINE_EXCEEDED``); from the submit on, the
        outcome is unknown (``CommitStatusUnknown``). Setting ``cancel`` (a ``threading.Event``, from any
        thread) cancels the call the same way: code ``CANCELLED``, the error type telling whether
        anything may have been ordered.

        Raises:
            EndorseError: endorsement failed; nothing was ordered.
            SubmitError: ordering refused the transaction.
            CommitStatusUnknown: the submit was cut off or the commit status could not be read: the
                transaction may have committed. Ask the ledger (:meth:`Network.transaction_status`)
                before trying again.
            CommitError: the transaction committed as invalid (e.g. ``MVCC_READ_CONFLICT``).
            ConnectionFailure: the gateway peer cannot be reached before anything was submitted.
            ArgumentError: ``timeout`` is not a positive number.
        """
        deadline = Deadline(timeout, cancel=cancel)
        result, commit = self._submit_async(
            transaction_name, args, transient, endorsing_organizations, collections, deadline
        )
        status = commit.status(timeout=deadline.left(), cancel=cancel)
        if collections and endorsing_organizations is None:
            self._forget_plan(status)
        check_committed(status)
        return result

    def transaction_status(
        self, transaction_id: str, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> Status | None:
        """Ask the gateway peer's ledger whether ``transaction_id`` committed on this contract's channel.

        The same question as :meth:`Network.transaction_status` (``qscc GetBlockByTxID``), for a caller
        that holds the contract only: a :class:`Status` says in which block and how it was validated;
        ``None`` says this peer's ledger does not hold it yet (it may still commit).

        Raises:
            ArgumentError: ``transaction_id`` is not a transaction id.
            GatewayError: the peer refused the query.
            ConnectionFailure: the gateway peer cannot be reached.
        """
        from ._network import Network  # a network hands out contracts: imported when first asked

        network = Network(self._session, self._channel_id)
        return network.transaction_status(transaction_id, timeout=timeout, cancel=cancel)
