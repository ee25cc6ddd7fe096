"""A submitted transaction whose commit status can be waited for."""

from __future__ import annotations

import builtins
import threading

from fabric_protos.gateway import gateway_pb2

from ._session import Session
from ._signing import SigningIdentity
from ._status import Status, StatusCode


class CommitState:
    """A commit status request, independent of transport (shared by sync and asyncio).

    ``bytes``/``digest`` support offline signing: sign ``digest`` and rebuild with
    ``gateway.new_signed_commit(commit.bytes, signature)``.
    """

    __slots__ = ("_signed_request", "_signing", "_transaction_id")

    def __init__(
        self,
        signing: SigningIdentity,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
    ) -> None:
        self._signing = signing
        self._signed_request = signed_request
        self._transaction_id = transaction_id

    @property
    def transaction_id(self) -> str:
        return self._transaction_id

    @property
    def bytes(self) -> builtins.bytes:
        """The serialized ``gateway.SignedCommitStatusRequest``, signed or not."""
        return self._signed_request.SerializeToString()

    @property
    def digest(self) -> builtins.bytes:
        return self._signing.hash(self._signed_request.request)

    def _status_request(self) -> gateway_pb2.SignedCommitStatusRequest:
        if not self._signed_request.signature:
            self._signed_request.signature = self._signing.sign(self.digest)
        return self._signed_request

    def _status(self, response: gateway_pb2.CommitStatusResponse) -> Status:
        return Status(
            transaction_id=self._transaction_id,
            code=StatusCode.of(response.result),
            block_number=response.block_number,
        )


class Commit(CommitState):
    """A transaction sent to ordering; :meth:`status` waits until a peer has committed it."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, signed_request: gateway_pb2.SignedCommitStatusRequest, transaction_id: str
    ) -> None:
        super().__init__(session.signing, signed_request, transaction_id)
        self._session = session

    def status(self, *, timeout: float | None = None, cancel: threading.Event | None = None) -> Status:
        """Block until the transaction is committed and return how it was validated.

        An invalid transaction is not an error here: check ``Status.successful``. Setting ``cancel``
        (from any thread) stops waiting (``CommitStatusUnknown``, code ``CANCELLED``).

        Raises:
            CommitStatusUnknown: the status could not be obtained (deadline passed, gateway peer gone or
                unreachable, peer error); the transaction may have committed or may still commit: ask
                the ledger (:meth:`Network.transaction_status`) or wait again.
            IdentityError: the request is unsigned and the Gateway has no signer.
        """
        session = self._session
        response = session.client.commit_status(
            self._status_request(),
            self._transaction_id,
            session.timeouts.commit_status if timeout is None else timeout,
            cancel,
        )
        return self._status(response)
