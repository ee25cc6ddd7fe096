"""The asyncio event iterator and chaincode events request; positions come from ``fabrx.gateway``."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from .._rpc_errors import translate
from ..errors import GatewayError
from ..gateway import _messages as messages
from ..gateway._blockevents import B, BlockEventsRequestState
from ..gateway._client import DeliverKind
from ..gateway._events import ChaincodeEventsRequestState
from ..gateway._events_model import ChaincodeEvent
from ..gateway._reconnect import STREAM_ENDED, Outage
from ..gateway._stream import Cursor
from ._client import StreamCall
from ._session import Session

T = TypeVar("T")


class EventStream(Generic[T]):
    """An async iterator of events that resumes after connection loss with no gap and no duplicate.

    Use ``async with`` (or ``await stream.close()``). Iteration raises instead of ending when the
    stream fails for good: ``ConnectionFailure`` once the reconnect policy gives up, ``GatewayError``
    for a refusal or when the subscription deadline passed.
    """

    def __init__(
        self,
        cursor: Cursor[T],
        open_stream: Callable[[Any, float | None], StreamCall],
        outage: Outage,
        timeout: float | None,
    ) -> None:
        self._cursor = cursor
        self._open_stream = open_stream
        self._outage = outage
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._stream: StreamCall | None = None
        self._buffer: deque[T] = deque()
        self._closed = False
        self._wake = asyncio.Event()

    def __aiter__(self) -> EventStream[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._buffer:
                return self._buffer.popleft()
            stream = self._open()
            try:
                response = await stream.read()
            except asyncio.CancelledError:
                # close() cancels the call, which surfaces here; anything else is the caller's cancellation.
                if self._closed:
                    raise StopAsyncIteration from None
                raise
            except grpc.RpcError as rpc_error:
                if self._closed:
                    raise StopAsyncIteration from None
                error = translate(rpc_error, GatewayError, self._cursor.what)
            else:
                if response is grpc.aio.EOF:
                    error = GatewayError(f"{self._cursor.what}: the peer ended the stream", code=STREAM_ENDED)
                else:
                    try:
                        self._buffer.extend(self._cursor.accept(response))
                    except GatewayError as status_error:
                        error = status_error
                    else:
                        self._outage.progressed()
                        continue
            self._drop_stream()
            delay = self._outage.next_delay(error)
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                continue
            raise StopAsyncIteration

    def _open(self) -> StreamCall:
        if self._stream is None:
            timeout = None if self._deadline is None else max(self._deadline - time.monotonic(), 0.0)
            self._stream = self._open_stream(self._cursor.request(), timeout)
            self._outage.opened()
        return self._stream

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()

    async def close(self) -> None:
        """Stop receiving events and release the stream. Safe to call more than once."""
        self._closed = True
        self._wake.set()
        self._drop_stream()

    async def __aenter__(self) -> EventStream[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class ChaincodeEventsRequest(ChaincodeEventsRequestState):
    """A request for chaincode events; :meth:`events` opens the async stream."""

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
        """The event stream (opened at the first ``__anext__``); see the sync ``events()``."""
        session = self._session
        cursor = self._cursor()
        return EventStream(
            cursor,
            session.client.chaincode_events,
            Outage(session.reconnect, cursor.what, position=lambda: cursor.position),
            session.timeouts.chaincode_events if timeout is None else timeout,
        )


class BlockEventsRequest(BlockEventsRequestState[B]):
    """A request for blocks of one kind; :meth:`events` opens the async stream."""

    __slots__ = ("_session",)

    def __init__(
        self, session: Session, kind: DeliverKind, envelope: common_pb2.Envelope, seek: messages.Seek
    ) -> None:
        super().__init__(session.signing, kind, envelope, seek)
        self._session = session

    def events(self, *, timeout: float | None = None) -> EventStream[B]:
        """The block stream (opened at the first ``__anext__``); see the sync ``events()``."""
        session = self._session
        cursor = self._cursor()
        return EventStream(
            cursor,
            functools.partial(session.client.deliver, self._kind),
            Outage(session.reconnect, cursor.what, position=lambda: cursor.position),
            session.timeouts.chaincode_events if timeout is None else timeout,
        )
