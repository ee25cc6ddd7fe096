"""A chaincode transaction proposal: evaluate it (a query) or endorse it (the first step of a submit)."""

from __future__ import annotations

import builtins
import threading

from fabric_protos.gateway import gateway_pb2

from . import _messages as messages
from ._session import Session
from ._signing import SigningIdentity
from ._transaction import Transaction


class ProposalState:
    """What a proposal is, independent of how it is sent (shared by the sync and asyncio clients).

    ``bytes`` and ``digest`` support offline signing: sign ``digest`` elsewhere and rebuild the proposal
    with ``gateway.new_signed_proposal(proposal.bytes, signature)``.
    """

    __slots__ = ("_channel_id", "_proposed", "_signing")

    def __init__(
        self, signing: SigningIdentity, proposed: gateway_pb2.ProposedTransaction, channel_id: str
    ) -> None:
        self._signing = signing
        self._proposed = proposed
        self._channel_id = channel_id

    @property
    def transaction_id(self) -> str:
        """The id the transaction gets on the ledger: ``hex(sha256(nonce + creator))``."""
        return self._proposed.transaction_id

    @property
    def bytes(self) -> builtins.bytes:
        """The serialized proposal (a ``gateway.ProposedTransaction``), signed or not."""
        return self._proposed.SerializeToString()

    @property
    def digest(self) -> builtins.bytes:
        """The digest to sign: the configured hash of the serialized ``Proposal``."""
        return self._signing.hash(self._proposed.proposal.proposal_bytes)

    def _signed(self) -> gateway_pb2.ProposedTransaction:
        if not self._proposed.proposal.signature:
            self._proposed.proposal.signature = self._signing.sign(self.digest)
        return self._proposed

    def _evaluate_request(self) -> gateway_pb2.EvaluateRequest:
        return messages.evaluate_request(self._signed(), self._channel_id)

    def _endorse_request(self) -> gateway_pb2.EndorseRequest:
        return messages.endorse_request(self._signed(), self._channel_id)

    def _prepared(
        self, response: gateway_pb2.EndorseResponse
    ) -> tuple[gateway_pb2.PreparedTransaction, builtins.bytes]:
        """The unsigned transaction the Gateway assembled, and the chaincode result inside it."""
        envelope = response.prepared_transaction
        _, result = messages.parse_prepared_transaction(envelope.payload)
        return gateway_pb2.PreparedTransaction(transaction_id=self.transaction_id, envelope=envelope), result


class Proposal(ProposalState):
    """A signed (or to-be-signed) chaincode proposal, sent with :meth:`evaluate` or :meth:`endorse`."""

    __slots__ = ("_session",)

    def __init__(self, session: Session, proposed: gateway_pb2.ProposedTransaction, channel_id: str) -> None:
        super().__init__(session.signing, proposed, channel_id)
        self._session = session

    def evaluate(
        self, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> builtins.bytes:
        """Run the transaction on the gateway's chosen peers without ordering it; return its result.

        The ledger is not changed. ``timeout`` defaults to the Gateway's evaluate deadline; setting
        ``cancel`` (from any thread) cancels the request in flight (``GatewayError``, code ``CANCELLED``).

        Raises:
            GatewayError: the chaincode or a peer returned an error (details name the peers).
            ConnectionFailure: the gateway peer cannot be reached.
            IdentityError: the proposal is unsigned and the Gateway has no signer.
        """
        session = self._session
        response = session.client.evaluate(
            self._evaluate_request(), session.timeouts.evaluate if timeout is None else timeout, cancel
        )
        return response.result.payload

    def endorse(self, *, timeout: float | None = None, cancel: threading.Event | None = None) -> Transaction:
        """Collect endorsements that satisfy the endorsement policy; return the transaction to submit.

        Setting ``cancel`` cancels the request in flight (``EndorseError``, code ``CANCELLED``).

        Raises:
            EndorseError: endorsement failed or was cancelled; nothing was ordered.
            ConnectionFailure: the gateway peer cannot be reached.
            IdentityError: the proposal is unsigned and the Gateway has no signer.
        """
        session = self._session
        response = session.client.endorse(
            self._endorse_request(), session.timeouts.endorse if timeout is None else timeout, cancel
        )
        prepared, result = self._prepared(response)
        return Transaction(session, prepared, self._channel_id, result)
