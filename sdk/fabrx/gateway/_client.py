"""The transport seam of the sync client: Gateway and Deliver stubs on one gRPC channel.

Every unary call translates ``grpc.RpcError`` into the fabrx error of its step, so nothing above this
module sees gRPC exceptions. Streams are returned raw; their iterators translate errors themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any, Protocol

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from .._rpc_errors import translate, translate_commit_status, translate_submit
from ..errors import EndorseError, GatewayError


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
        self, request: gateway_pb2.EvaluateRequest, timeout: float | None
    ) -> gateway_pb2.EvaluateResponse:
        try:
            return self._evaluate(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate(error, GatewayError, "evaluate", transaction_id=request.transaction_id) from error

    def endorse(
        self, request: gateway_pb2.EndorseRequest, timeout: float | None
    ) -> gateway_pb2.EndorseResponse:
        try:
            return self._endorse(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate(error, EndorseError, "endorse", transaction_id=request.transaction_id) from error

    def submit(self, request: gateway_pb2.SubmitRequest, timeout: float | None) -> None:
        try:
            self._submit(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_submit(error, request.transaction_id) from error

    def commit_status(
        self, request: gateway_pb2.SignedCommitStatusRequest, transaction_id: str, timeout: float | None
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            return self._commit_status(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_commit_status(error, transaction_id) from error

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
