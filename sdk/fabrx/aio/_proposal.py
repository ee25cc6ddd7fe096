"""Asyncio shells of the proposal → transaction → commit steps; the state lives in ``fabrx.gateway``."""

from __future__ import annotations

from fabric_protos.gateway import gateway_pb2

from ..gateway._commit import CommitState
from ..gateway._proposal import ProposalState
from ..gateway._status import Status
from ..gateway._transaction import TransactionState
from ._session import Session


class Commit(CommitState):
    """A transaction sent to ordering; ``await commit.status()`` waits until a peer committed it."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, signed_request: gateway_pb2.SignedCommitStatusRequest, transaction_id: str
    ) -> None:
        super().__init__(session.signing, signed_request, transaction_id)
        self._session = session

    async def status(self, *, timeout: float | None = None) -> Status:
        """Wait until the transaction is committed; see :meth:`fabrx.gateway.Commit.status`."""
        session = self._session
        response = await session.client.commit_status(
            self._status_request(),
            self._transaction_id,
            session.timeouts.commit_status if timeout is None else timeout,
        )
        return self._status(response)


class Transaction(TransactionState):
    """An endorsed transaction; ``await transaction.submit()`` sends it to ordering."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, prepared: gateway_pb2.PreparedTransaction, channel_id: str, result: bytes
    ) -> None:
        super().__init__(session.signing, prepared, channel_id, result)
        self._session = session

    async def submit(self, *, timeout: float | None = None) -> Commit:
        """Send to ordering without waiting for the commit; see :meth:`fabrx.gateway.Transaction.submit`."""
        session = self._session
        await session.client.submit(
            self._submit_request(), session.timeouts.submit if timeout is None else timeout
        )
        return Commit(session, self._commit_request(), self.transaction_id)


class Proposal(ProposalState):
    """A chaincode proposal; ``await proposal.evaluate()`` or ``await proposal.endorse()``."""

    __slots__ = ("_session",)

    def __init__(self, session: Session, proposed: gateway_pb2.ProposedTransaction, channel_id: str) -> None:
        super().__init__(session.signing, proposed, channel_id)
        self._session = session

    async def evaluate(self, *, timeout: float | None = None) -> bytes:
        """Run without ordering and return the result; see :meth:`fabrx.gateway.Proposal.evaluate`."""
        session = self._session
        response = await session.client.evaluate(
            self._evaluate_request(), session.timeouts.evaluate if timeout is None else timeout
        )
        return response.result.payload

    async def endorse(self, *, timeout: float | None = None) -> Transaction:
        """Collect endorsements; see :meth:`fabrx.gateway.Proposal.endorse`."""
        session = self._session
        response = await session.client.endorse(
            self._endorse_request(), session.timeouts.endorse if timeout is None else timeout
        )
        prepared, result = self._prepared(response)
        return Transaction(session, prepared, self._channel_id, result)
