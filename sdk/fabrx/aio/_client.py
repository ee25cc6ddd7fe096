"""The transport seam of the asyncio client: Gateway and Deliver stubs on one ``grpc.aio`` channel."""

from __future__ import annotations

from typing import Any, Protocol

import grpc
import grpc.aio
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from .._rpc_errors import translate, translate_commit_status, translate_submit
from ..endpoint import Endpoint, channel_credentials, channel_options
from ..errors import EndorseError, GatewayError
from ..gateway._client import DeliverKind


def new_aio_channel(endpoint: Endpoint) -> grpc.aio.Channel:
    """Open a ``grpc.aio`` channel to ``endpoint``, configured like :func:`fabrx.endpoint.new_channel`."""
    credentials = channel_credentials(endpoint)
    if credentials is None:
        return grpc.aio.insecure_channel(endpoint.address, options=channel_options(endpoint))
    return grpc.aio.secure_channel(endpoint.address, credentials, options=channel_options(endpoint))


class StreamCall(Protocol):
    """A ``grpc.aio`` server-streaming call: read responses one by one, cancel it."""

    async def read(self) -> Any: ...

    def cancel(self) -> bool: ...


class AioGatewayClient:
    """Calls the Gateway and Deliver services of one peer from asyncio code."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        gateway = gateway_pb2_grpc.GatewayStub(channel)
        deliver = events_pb2_grpc.DeliverStub(channel)
        self._evaluate = gateway.Evaluate
        self._endorse = gateway.Endorse
        self._submit = gateway.Submit
        self._commit_status = gateway.CommitStatus
        self._chaincode_events = gateway.ChaincodeEvents
        self._deliver = {kind: getattr(deliver, kind.value) for kind in DeliverKind}

    async def evaluate(
        self, request: gateway_pb2.EvaluateRequest, timeout: float | None
    ) -> gateway_pb2.EvaluateResponse:
        try:
            return await self._evaluate(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate(error, GatewayError, "evaluate", transaction_id=request.transaction_id) from error

    async def endorse(
        self, request: gateway_pb2.EndorseRequest, timeout: float | None
    ) -> gateway_pb2.EndorseResponse:
        try:
            return await self._endorse(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate(error, EndorseError, "endorse", transaction_id=request.transaction_id) from error

    async def submit(self, request: gateway_pb2.SubmitRequest, timeout: float | None) -> None:
        try:
            await self._submit(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_submit(error, request.transaction_id) from error

    async def commit_status(
        self, request: gateway_pb2.SignedCommitStatusRequest, transaction_id: str, timeout: float | None
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            return await self._commit_status(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_commit_status(error, transaction_id) from error

    def chaincode_events(
        self, request: gateway_pb2.SignedChaincodeEventsRequest, timeout: float | None
    ) -> StreamCall:
        call: StreamCall = self._chaincode_events(request, timeout=timeout)
        return call

    def deliver(self, kind: DeliverKind, envelope: common_pb2.Envelope, timeout: float | None) -> StreamCall:
        call: StreamCall = self._deliver[kind](iter((envelope,)), timeout=timeout)
        return call
