"""The sync event iterator: reads a server stream, reconnects from the last position, never ends silently."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import grpc

from .._rpc_errors import translate
from ..errors import GatewayError
from ._client import ResponseStream
from ._reconnect import STREAM_ENDED, Outage

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Cursor(Protocol[T_co]):
    """Pure position keeping of one event stream (see ``_events`` and ``_blockevents``)."""

    what: str

    def request(self) -> Any:
        """The signed request that opens the stream at the current position."""
        ...

    def accept(self, response: Any) -> Sequence[T_co]:
        """Items new to the caller in ``response``; raises GatewayError for an error status."""
        ...


class EventStream(Generic[T]):
    """An iterator of events that resumes after connection loss with no gap and no duplicate.

    Iterate it in one thread; :meth:`close` (or leaving the ``with`` block) may be called from any
    thread and ends the iteration. Iteration raises instead of ending when the stream fails for
    good: ``ConnectionFailure`` after the reconnect policy gave up, ``GatewayError`` for a refusal
    (e.g. ``PERMISSION_DENIED``) or when the subscription deadline passed.
    """

    def __init__(
        self,
        cursor: Cursor[T],
        open_stream: Callable[[Any, float | None], ResponseStream],
        outage: Outage,
        timeout: float | None,
    ) -> None:
        self._cursor = cursor
        self._open_stream = open_stream
        self._outage = outage
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._stream: ResponseStream | None = None
        self._buffer: deque[T] = deque()
        self._closed = False
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while True:
            if self._closed:
                raise StopIteration
            if self._buffer:
                return self._buffer.popleft()
            stream = self._open()
            if stream is None:
                raise StopIteration
            try:
                response = next(stream)
            except StopIteration:
                error = GatewayError(f"{self._cursor.what}: the peer ended the stream", code=STREAM_ENDED)
            except grpc.RpcError as rpc_error:
                if self._closed:
                    raise StopIteration from None
                error = translate(rpc_error, GatewayError, self._cursor.what)
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
            if self._wake.wait(delay):
                raise StopIteration

    def _open(self) -> ResponseStream | None:
        with self._lock:
            if self._closed:
                return None
            if self._stream is None:
                timeout = None
                if self._deadline is not None:
                    timeout = max(self._deadline - time.monotonic(), 0.0)
                self._stream = self._open_stream(self._cursor.request(), timeout)
                self._outage.opened()
            return self._stream

    def _drop_stream(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()

    def close(self) -> None:
        """Stop receiving events and release the stream. Safe to call more than once, from any thread."""
        self._closed = True
        self._wake.set()
        self._drop_stream()

    def __enter__(self) -> EventStream[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
