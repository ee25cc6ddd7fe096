"""An endorsed transaction, ready to be signed and submitted to ordering."""

from __future__ import annotations

import builtins
import threading

from fabric_protos.gateway import gateway_pb2

from . import _messages as messages
from ._commit import Commit
from ._session import Session
from ._signing import SigningIdentity


class TransactionState:
    """An endorsed transaction and its result, independent of transport (shared by sync and asyncio).

    ``bytes``/``digest`` support offline signing: sign ``digest`` and rebuild with
    ``gateway.new_signed_transaction(transaction.bytes, signature)``.
    """

    __slots__ = ("_channel_id", "_prepared", "_result", "_signing")

    def __init__(
        self,
        signing: SigningIdentity,
        prepared: gateway_pb2.PreparedTransaction,
        channel_id: str,
        result: bytes,
    ) -> None:
        self._signing = signing
        self._prepared = prepared
        self._channel_id = channel_id
        self._result = result

    @property
    def result(self) -> builtins.bytes:
        """What the chaincode returned when the transaction was endorsed."""
        return self._result

    @property
    def transaction_id(self) -> str:
        return self._prepared.transaction_id

    @property
    def bytes(self) -> builtins.bytes:
        """The serialized transaction (a ``gateway.PreparedTransaction``), signed or not."""
        return self._prepared.SerializeToString()

    @property
    def digest(self) -> builtins.bytes:
        """The digest to sign: the configured hash of the envelope payload."""
        return self._signing.hash(self._prepared.envelope.payload)

    def _submit_request(self) -> gateway_pb2.SubmitRequest:
        envelope = self._prepared.envelope
        if not envelope.signature:
            envelope.signature = self._signing.sign(self.digest)
        return messages.submit_request(self._prepared, self._channel_id)

    def _commit_request(self) -> gateway_pb2.SignedCommitStatusRequest:
        signed = messages.new_commit_status_request(
            self.transaction_id, self._channel_id, self._signing.creator
        )
        if self._signing.signer is not None:
            signed.signature = self._signing.sign(self._signing.hash(signed.request))
        return signed


class Transaction(TransactionState):
    """An endorsed transaction; :meth:`submit` sends it to ordering."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, prepared: gateway_pb2.PreparedTransaction, channel_id: str, result: bytes
    ) -> None:
        super().__init__(session.signing, prepared, channel_id, result)
        self._session = session

    def submit(self, *, timeout: float | None = None, cancel: threading.Event | None = None) -> Commit:
        """Send the transaction to ordering and return without waiting for it to commit.

        Setting ``cancel`` cancels the request in flight (``CommitStatusUnknown``, code ``CANCELLED``).

        Raises:
            SubmitError: the orderer refused the transaction; the ledger is unchanged.
            CommitStatusUnknown: the call was cut off (gateway peer unreachable or gone, deadline,
                cancellation): the transaction may have reached ordering. Re-submitting this same
                transaction is safe (one transaction id commits at most once); a new one is not.
            IdentityError: the transaction is unsigned and the Gateway has no signer.
        """
        session = self._session
        session.client.submit(
            self._submit_request(), session.timeouts.submit if timeout is None else timeout, cancel
        )
        return Commit(session, self._commit_request(), self.transaction_id)
