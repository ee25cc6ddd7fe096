"""The transport seam of the sync client: Gateway and Deliver stubs on one gRPC channel.

Every unary call translates ``grpc.RpcError`` into the fabrx error of its step, so nothing above this
module sees gRPC exceptions. Streams are returned raw; their iterators translate errors themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from enum import Enum
from typing import Any, Protocol

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from .._rpc_errors import translate, translate_commit_status, translate_submit
from ..errors import CommitStatusUnknown, EndorseError, GatewayError

# How often a call given a cancel event looks at it.
_CANCEL_POLL = 0.05


class DeliverKind(Enum):
    """Which Deliver service a block stream uses."""

    BLOCK = "Deliver"
    FILTERED_BLOCK = "DeliverFiltered"
    BLOCK_AND_PRIVATE_DATA = "DeliverWithPrivateData"


class ResponseStream(Protocol):
    """A server stream as returned by a gRPC stub: iterate it, cancel it."""

    def __iter__(self) -> Iterator[Any]: ...

    def __next__(self) -> Any: ...

    def cancel(self) -> bool: ...


class GatewayClient:
    """Calls the Gateway service of one peer; thread-safe (gRPC channels are)."""

    def __init__(self, channel: grpc.Channel) -> None:
        gateway = gateway_pb2_grpc.GatewayStub(channel)
        deliver = events_pb2_grpc.DeliverStub(channel)
        self._evaluate = gateway.Evaluate
        self._endorse = gateway.Endorse
        self._submit = gateway.Submit
        self._commit_status = gateway.CommitStatus
        self._chaincode_events = gateway.ChaincodeEvents
        self._deliver = {kind: getattr(deliver, kind.value) for kind in DeliverKind}

    def evaluate(
        self,
        request: gateway_pb2.EvaluateRequest,
        timeout: float | None,
        cancel: threading.Event | None = None,
    ) -> gateway_pb2.EvaluateResponse:
        transaction_id = request.transaction_id
        try:
            response: gateway_pb2.EvaluateResponse = _call(self._evaluate, request, timeout, cancel)
        except grpc.RpcError as error:
            raise translate(error, GatewayError, "evaluate", transaction_id=transaction_id) from error
        except grpc.FutureCancelledError as cancelled:
            raise GatewayError(
                _CANCELLED.format("evaluate"), code="CANCELLED", transaction_id=transaction_id
            ) from (cancelled)
        return response

    def endorse(
        self,
        request: gateway_pb2.EndorseRequest,
        timeout: float | None,
        cancel: threading.Event | None = None,
    ) -> gateway_pb2.EndorseResponse:
        transaction_id = request.transaction_id
        try:
            response: gateway_pb2.EndorseResponse = _call(self._endorse, request, timeout, cancel)
        except grpc.RpcError as error:
            raise translate(error, EndorseError, "endorse", transaction_id=transaction_id) from error
        except grpc.FutureCancelledError as cancelled:
            raise EndorseError(
                _CANCELLED.format("endorse"), code="CANCELLED", transaction_id=transaction_id
            ) from (cancelled)
        return response

    def submit(
        self, request: gateway_pb2.SubmitRequest, timeout: float | None, cancel: threading.Event | None = None
    ) -> None:
        try:
            _call(self._submit, request, timeout, cancel)
        except grpc.RpcError as error:
            raise translate_submit(error, request.transaction_id) from error
        except grpc.FutureCancelledError as cancelled:
            raise _cancelled_unknown("submit", request.transaction_id) from cancelled

    def commit_status(
        self,
        request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
        timeout: float | None,
        cancel: threading.Event | None = None,
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            response: gateway_pb2.CommitStatusResponse = _call(self._commit_status, request, timeout, cancel)
        except grpc.RpcError as error:
            raise translate_commit_status(error, transaction_id) from error
        except grpc.FutureCancelledError as cancelled:
            raise _cancelled_unknown("commit status", transaction_id) from cancelled
        return response

    def chaincode_events(
        self, request: gateway_pb2.SignedChaincodeEventsRequest, timeout: float | None
    ) -> ResponseStream:
        stream: ResponseStream = self._chaincode_events(request, timeout=timeout)
        return stream

    def deliver(
        self, kind: DeliverKind, envelope: common_pb2.Envelope, timeout: float | None
    ) -> ResponseStream:
        # The request stream ends after the seek envelope; the peer keeps sending blocks until the stop
        # position (never reached) or until the call is cancelled.
        stream: ResponseStream = self._deliver[kind](iter((envelope,)), timeout=timeout)
        return stream


_CANCELLED = "{} cancelled by the caller"


def _call(method: Any, request: Any, timeout: float | None, cancel: threading.Event | None) -> Any:
    """One unary call; with ``cancel``, the request in flight is cancelled as soon as it is set.

    Raises:
        grpc.RpcError: the call failed.
        grpc.FutureCancelledError: ``cancel`` was set (also when it was set before the call).
    """
    if cancel is None:
        return method(request, timeout=timeout)
    future = method.future(request, timeout=timeout)
    while True:
        if cancel.is_set():
            future.cancel()
        try:
            return future.result(timeout=_CANCEL_POLL)
        except grpc.FutureTimeoutError:
            continue


def _cancelled_unknown(action: str, transaction_id: str) -> CommitStatusUnknown:
    return CommitStatusUnknown(
        f"{_CANCELLED.format(action)}; the transaction may have committed: ask the ledger "
        "(Network.transaction_status) before trying again",
        code="CANCELLED",
        transaction_id=transaction_id,
    )
