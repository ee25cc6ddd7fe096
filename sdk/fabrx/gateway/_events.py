"""Chaincode events: the signed request, the resume position, and the sync listener."""

from __future__ import annotations

import builtins

from fabric_protos.gateway import gateway_pb2

from ..errors import IdentityError
from . import _messages as messages
from ._events_model import ChaincodeEvent
from ._reconnect import Outage
from ._session import Session
from ._signing import SigningIdentity
from ._stream import EventStream


class ChaincodeEventsCursor:
    """Where a chaincode event stream stands: the last event received, and the request to resume after it.

    Events are keyed by (block number, transaction id); a response repeating an event already
    received is filtered, so a resumed stream yields each event exactly once.
    """

    def __init__(
        self,
        signing: SigningIdentity,
        signed: gateway_pb2.SignedChaincodeEventsRequest,
        request: gateway_pb2.ChaincodeEventsRequest,
    ) -> None:
        self.what = f"chaincode events of {request.chaincode_id!r} on channel {request.channel_id!r}"
        self._signing = signing
        self._initial = signed
        self._channel_id = request.channel_id
        self._chaincode_name = request.chaincode_id
        self._block_number: int | None = None
        self._transaction_id = ""
        self._seen: set[str] = set()

    @property
    def position(self) -> str:
        """Where a resumed stream starts, for logs: after the last transaction id received."""
        if self._block_number is None:
            return "from the requested start"
        return f"after transaction {self._transaction_id} in block {self._block_number}"

    def request(self) -> gateway_pb2.SignedChaincodeEventsRequest:
        if self._block_number is None:
            if not self._initial.signature:
                self._initial.signature = self._signing.sign(self._signing.hash(self._initial.request))
            return self._initial
        if self._signing.signer is None:
            raise IdentityError(
                f"{self.what}: the stream broke and resuming needs a newly signed request, but the "
                "Gateway has no signer; request events again from a checkpoint with a new offline-signed "
                "request"
            )
        signed = messages.new_chaincode_events_request(
            self._channel_id,
            self._chaincode_name,
            self._signing.creator,
            self._block_number,
            self._transaction_id,
        )
        signed.signature = self._signing.sign(self._signing.hash(signed.request))
        return signed

    def accept(self, response: gateway_pb2.ChaincodeEventsResponse) -> list[ChaincodeEvent]:
        block_number = response.block_number
        if self._block_number is not None and block_number < self._block_number:
            return []
        if block_number != self._block_number:
            self._block_number = block_number
            self._seen = set()
        events = []
        for event in response.events:
            if event.tx_id in self._seen:
                continue
            self._seen.add(event.tx_id)
            self._transaction_id = event.tx_id
            events.append(
                ChaincodeEvent(
                    block_number=block_number,
                    transaction_id=event.tx_id,
                    chaincode_name=event.chaincode_id,
                    event_name=event.event_name,
                    payload=event.payload,
                )
            )
        return events


class ChaincodeEventsRequestState:
    """A chaincode events request, independent of transport (shared by sync and asyncio).

    ``bytes``/``digest`` support offline signing: sign ``digest`` and rebuild with
    ``gateway.new_signed_chaincode_events_request(request.bytes, signature)``.
    """

    __slots__ = ("_request", "_signed", "_signing")

    def __init__(
        self,
        signing: SigningIdentity,
        signed: gateway_pb2.SignedChaincodeEventsRequest,
        request: gateway_pb2.ChaincodeEventsRequest,
    ) -> None:
        self._signing = signing
        self._signed = signed
        self._request = request

    @property
    def bytes(self) -> builtins.bytes:
        """The serialized ``gateway.SignedChaincodeEventsRequest``, signed or not."""
        return self._signed.SerializeToString()

    @property
    def digest(self) -> builtins.bytes:
        return self._signing.hash(self._signed.request)

    def _cursor(self) -> ChaincodeEventsCursor:
        return ChaincodeEventsCursor(self._signing, self._signed, self._request)


class ChaincodeEventsRequest(ChaincodeEventsRequestState):
    """A request for chaincode events; :meth:`events` opens the stream."""

    __slots__ = ("_session",)

    def __init__(
        self,
        session: Session,
        signed: gateway_pb2.SignedChaincodeEventsRequest,
        request: gateway_pb2.ChaincodeEventsRequest,
    ) -> None:
        super().__init__(session.signing, signed, request)
        self._session = session

    def events(self, *, timeout: float | None = None) -> EventStream[ChaincodeEvent]:
        """Open the event stream (lazily, at the first ``next()``).

        Events come in block order, and in transaction order within a block; only events of valid
        transactions are delivered. ``timeout`` bounds the whole subscription (default: the
        Gateway's ``chaincode_events`` deadline).

        Raises (while iterating):
            ConnectionFailure: the stream could not be re-established within the reconnect policy.
            GatewayError: the peer refused the request (e.g. ``PERMISSION_DENIED``).
            IdentityError: the request is unsigned and the Gateway has no signer.
        """
        session = self._session
        cursor = self._cursor()
        return EventStream(
            cursor,
            session.client.chaincode_events,
            Outage(session.reconnect, cursor.what, position=lambda: cursor.position),
            session.timeouts.chaincode_events if timeout is None else timeout,
        )
