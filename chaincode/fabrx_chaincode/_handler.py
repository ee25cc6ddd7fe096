"""The chaincode side of the peer protocol, for one stream.

States: ``CREATED`` (REGISTER sent) -> ``ESTABLISHED`` (peer sent REGISTERED) -> ``READY`` (peer sent
READY, possibly with ``ChaincodeAdditionalParams`` advertising write batches and multi-key reads).
In READY the peer sends ``TRANSACTION`` / ``INIT`` messages, each run as its own asyncio task, and
``RESPONSE`` / ``ERROR`` replies to the chaincode's ledger requests, matched to the waiting request by
(channel id, transaction id): many transactions share the stream, each with at most one request in
flight. ``KEEPALIVE`` is echoed in any state.

Every transaction ends with exactly one ``COMPLETED`` (carrying a ``peer.Response`` and the chaincode
event) or ``ERROR`` (the input could not be decoded, or an ``INIT`` failed), sent as soon as it is
known: nothing leaves the peer waiting for its execute timeout.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable

from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2

from ._peer_stub import PeerStub
from .chaincode import Chaincode, ChaincodeResponse, response_for_exception
from .errors import PeerRequestError, ProtocolError

Msg = chaincode_shim_pb2.ChaincodeMessage

_log = logging.getLogger("fabrx_chaincode")

DEFAULT_BATCH_SIZE = 1000
"""Batch size used when the peer advertises batching without a size (the peer's own default)."""
MAX_MESSAGE_CHARS = 1000
"""Longest message a transaction answers with, in characters; a longer one is cut, saying by how much.
The peer hands the message on to the client inside the gRPC status of its Gateway answer, for every
endorser, and gRPC clients accept 8 KiB of such headers by default: a refusal echoing a long argument
would otherwise break the client's call (``RST_STREAM``) instead of telling it what is wrong."""


def bounded_message(message: str) -> str:
    """``message`` cut to :data:`MAX_MESSAGE_CHARS` characters, ending with how many were cut."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}... ({len(message) - MAX_MESSAGE_CHARS} more characters cut)"


class State(enum.Enum):
    CREATED = "created"
    ESTABLISHED = "established"
    READY = "ready"


class StreamHandler:
    """Protocol state and pending requests of one chaincode stream.

    Args:
        chaincode: what runs the transactions.
        chaincode_id: the name sent in REGISTER (the package id the peer knows the chaincode by).
        send: puts one message on the stream; must not block (the server queues it for its writer).
        use_write_batch: batch writes into WRITE_BATCH_STATE when the peer advertises support.
    """

    def __init__(
        self,
        chaincode: Chaincode,
        chaincode_id: str,
        send: Callable[[chaincode_shim_pb2.ChaincodeMessage], None],
        *,
        use_write_batch: bool = True,
    ) -> None:
        self._chaincode = chaincode
        self._chaincode_id = chaincode_id
        self._send = send
        self._use_write_batch = use_write_batch
        self.state = State.CREATED
        self.write_batch_size = 0
        """Records per WRITE_BATCH_STATE; 0 when writes go out one by one."""
        self.get_multiple_size = 0
        """Keys per GET_STATE_MULTIPLE; 0 when the peer does not support it."""
        self._pending: dict[tuple[str, str], asyncio.Future[chaincode_shim_pb2.ChaincodeMessage]] = {}
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._closed: ProtocolError | None = None
        self._loop = asyncio.get_running_loop()

    def register(self) -> None:
        """Open the handshake: send REGISTER with the chaincode id."""
        payload = chaincode_pb2.ChaincodeID(name=self._chaincode_id).SerializeToString()
        self._send(Msg(type=Msg.REGISTER, payload=payload))

    # ---- incoming messages --------------------------------------------------------------------

    def handle(self, msg: chaincode_shim_pb2.ChaincodeMessage) -> None:
        """Dispatch one message from the peer.

        Raises:
            ProtocolError: the message is not allowed in the current state; the stream must end.
        """
        kind = msg.type
        if self.state is State.READY:
            if kind == Msg.RESPONSE or kind == Msg.ERROR:
                future = self._pending.get((msg.channel_id, msg.txid))
                if future is not None and not future.done():
                    future.set_result(msg)
                # else: a late reply for a transaction that already ended; nothing waits for it.
            elif kind == Msg.TRANSACTION or kind == Msg.INIT:
                self._start_transaction(msg, init=kind == Msg.INIT)
            elif kind == Msg.KEEPALIVE:
                self._send(msg)
            else:
                self._send(self._error(msg, f"the chaincode cannot handle {Msg.Type.Name(kind)} when ready"))
        elif kind == Msg.KEEPALIVE:
            self._send(msg)
        elif self.state is State.CREATED and kind == Msg.REGISTERED:
            self.state = State.ESTABLISHED
        elif self.state is State.ESTABLISHED and kind == Msg.READY:
            self._configure(msg.payload)
            self.state = State.READY
        else:
            name = Msg.Type.Name(kind) if kind in Msg.Type.values() else str(kind)
            raise ProtocolError(f"the peer sent {name} while the chaincode stream is {self.state.value}")

    def _configure(self, payload: bytes) -> None:
        if not payload:
            return
        try:
            params = chaincode_pb2.ChaincodeAdditionalParams.FromString(payload)
        except Exception:  # an older peer's READY payload: keep the one-by-one defaults
            return
        if params.use_write_batch and self._use_write_batch:
            self.write_batch_size = params.max_size_write_batch or DEFAULT_BATCH_SIZE
        if params.use_get_multiple_keys:
            self.get_multiple_size = params.max_size_get_multiple_keys or DEFAULT_BATCH_SIZE

    # ---- transactions -------------------------------------------------------------------------

    def _start_transaction(self, msg: chaincode_shim_pb2.ChaincodeMessage, *, init: bool) -> None:
        key = (msg.channel_id, msg.txid)
        if key in self._running:
            self._send(
                self._error(msg, f"transaction {msg.txid} is already running on channel {msg.channel_id}")
            )
            return
        task = self._loop.create_task(self._execute(msg, init))
        self._running[key] = task
        task.add_done_callback(lambda _t, key=key: self._running.pop(key, None))  # type: ignore[misc]

    async def _execute(self, msg: chaincode_shim_pb2.ChaincodeMessage, init: bool) -> None:
        txid = msg.txid
        try:
            chaincode_input = chaincode_pb2.ChaincodeInput.FromString(msg.payload)
        except Exception as exc:
            self._send(self._error(msg, f"the transaction input is not a ChaincodeInput: {exc}"))
            return
        proposal = msg.proposal if msg.HasField("proposal") else None
        stub = PeerStub(self, msg.channel_id, txid, chaincode_input, proposal)
        try:
            if init:
                response = await self._chaincode.init(stub)
            else:
                response = await self._chaincode.invoke(stub)
            if not isinstance(response, ChaincodeResponse):
                raise TypeError(f"the chaincode returned {type(response).__name__}, not a ChaincodeResponse")
            if response.ok:
                await stub.flush_writes()
        except Exception as exc:
            if self._closed is not None:
                return  # the stream is gone: nobody to answer
            response = response_for_exception(exc, txid)
        message = bounded_message(response.message)
        if init and not response.ok:
            self._send(self._error(msg, message))
            return
        result = proposal_response_pb2.Response(
            status=response.status, message=message, payload=response.payload
        )
        completed = Msg(
            type=Msg.COMPLETED, payload=result.SerializeToString(), txid=txid, channel_id=msg.channel_id
        )
        event = stub.event
        if event is not None:
            completed.chaincode_event.CopyFrom(
                chaincode_event_pb2.ChaincodeEvent(event_name=event.name, payload=event.payload)
            )
        self._send(completed)

    @staticmethod
    def _error(msg: chaincode_shim_pb2.ChaincodeMessage, message: str) -> chaincode_shim_pb2.ChaincodeMessage:
        return Msg(type=Msg.ERROR, payload=message.encode(), txid=msg.txid, channel_id=msg.channel_id)

    # ---- requests from stubs ------------------------------------------------------------------

    async def exchange(
        self, channel_id: str, txid: str, kind: int, payload: bytes
    ) -> chaincode_shim_pb2.ChaincodeMessage:
        """Send one ledger request and return the peer's reply (RESPONSE or ERROR).

        Raises:
            ProtocolError: the stream closed before the reply, or another request of the same
                transaction is still waiting.
        """
        if self._closed is not None:
            raise self._closed
        key = (channel_id, txid)
        if key in self._pending:
            raise ProtocolError(f"transaction {txid} already has a request waiting for the peer")
        future: asyncio.Future[chaincode_shim_pb2.ChaincodeMessage] = self._loop.create_future()
        self._pending[key] = future
        try:
            self._send(Msg(type=kind, payload=payload, txid=txid, channel_id=channel_id))  # type: ignore[arg-type]
            return await future
        finally:
            del self._pending[key]

    async def request(self, channel_id: str, txid: str, kind: int, payload: bytes) -> bytes:
        """Send one ledger request and return the RESPONSE payload.

        Raises:
            PeerRequestError: the peer answered ERROR.
            ProtocolError: as :meth:`exchange`, or the peer answered with another message type.
        """
        reply = await self.exchange(channel_id, txid, kind, payload)
        if reply.type == Msg.RESPONSE:
            return reply.payload
        request_name = Msg.Type.Name(kind)  # type: ignore[arg-type]
        if reply.type == Msg.ERROR:
            raise PeerRequestError(request_name, reply.payload.decode("utf-8", "replace"))
        raise ProtocolError(f"the peer answered {request_name} with {Msg.Type.Name(reply.type)}")

    # ---- shutdown -----------------------------------------------------------------------------

    @property
    def running(self) -> int:
        """Transactions in progress on this stream."""
        return len(self._running)

    def close(self, reason: str) -> None:
        """The stream ended: fail every waiting request and cancel the running transactions."""
        if self._closed is not None:
            return
        self._closed = ProtocolError(f"the chaincode stream closed: {reason}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self._closed)
        for task in list(self._running.values()):
            task.cancel()
        if self._running:
            _log.warning("stream closed (%s) with %d transactions running", reason, len(self._running))
