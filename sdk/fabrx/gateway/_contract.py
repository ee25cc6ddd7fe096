"""A smart contract on a channel: evaluate and submit its transactions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from fabric_protos.gateway import gateway_pb2

from .._protocol import new_transaction_context
from ..errors import CommitError
from . import _messages as messages
from ._commit import Commit
from ._messages import Argument
from ._proposal import Proposal
from ._session import Session
from ._signing import SigningIdentity
from ._status import Status


def check_committed(status: Status) -> None:
    """Raise :class:`~fabrx.errors.CommitError` unless ``status`` is ``VALID``."""
    if not status.successful:
        raise CommitError(status.transaction_id, status.code.name, status.block_number)


class ContractState:
    """Names a chaincode (and optionally one contract in it) on a channel; builds its proposals."""

    __slots__ = ("_chaincode_name", "_channel_id", "_contract_name", "_signing")

    def __init__(
        self, signing: SigningIdentity, channel_id: str, chaincode_name: str, contract_name: str | None
    ) -> None:
        self._signing = signing
        self._channel_id = channel_id
        self._chaincode_name = chaincode_name
        self._contract_name = contract_name

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


class Contract(ContractState):
    """A chaincode's contract, reached through the Gateway. Thread-safe.

    Transaction arguments and transient values are ``str`` (sent UTF-8 encoded) or ``bytes``.
    ``endorsing_organizations`` pins the MSP ids that must endorse, e.g. when writing private data
    the Gateway cannot derive the endorsers from the endorsement policy alone.
    """

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, channel_id: str, chaincode_name: str, contract_name: str | None
    ) -> None:
        super().__init__(session.signing, channel_id, chaincode_name, contract_name)
        self._session = session

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
    ) -> bytes:
        """Run a transaction function without changing the ledger (a query); return its result.

        Raises:
            GatewayError: the chaincode or a peer returned an error.
            ConnectionFailure: the gateway peer cannot be reached.
        """
        return self.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=endorsing_organizations
        ).evaluate()

    def submit_async(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> tuple[bytes, Commit]:
        """Endorse and submit a transaction without waiting for it to commit.

        Returns the chaincode result and the :class:`Commit` whose ``status()`` waits for the commit.

        Raises:
            EndorseError: endorsement failed; nothing was ordered.
            SubmitError: ordering refused the transaction.
            ConnectionFailure: the gateway peer cannot be reached.
        """
        transaction = self.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=endorsing_organizations
        ).endorse()
        return transaction.result, transaction.submit()

    def submit_transaction(
        self,
        transaction_name: str,
        *args: Argument,
        transient: Mapping[str, Argument] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes:
        """Endorse, submit and wait until the transaction commits as valid; return its result.

        Raises:
            EndorseError: endorsement failed; nothing was ordered.
            SubmitError: ordering refused the transaction.
            CommitStatusError: the commit status could not be read; the transaction may still commit.
            CommitError: the transaction committed as invalid (e.g. ``MVCC_READ_CONFLICT``).
            ConnectionFailure: the gateway peer cannot be reached.
        """
        result, commit = self.submit_async(
            transaction_name, *args, transient=transient, endorsing_organizations=endorsing_organizations
        )
        check_committed(commit.status())
        return result
