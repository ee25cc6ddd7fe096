"""The transport seam of the asyncio client: Gateway and Deliver stubs on one ``grpc.aio`` channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import grpc
import grpc.aio
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from .._rpc_errors import translate
from ..endpoint import MAX_MESSAGE_BYTES, Endpoint
from ..errors import CommitStatusError, EndorseError, GatewayError, SubmitError
from ..gateway._client import DeliverKind


def new_aio_channel(endpoint: Endpoint) -> grpc.aio.Channel:
    """Open a ``grpc.aio`` channel to ``endpoint``, configured like :func:`fabrx.endpoint.new_channel`."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        # Fabric nodes reject keepalive pings more often than every 60 s by default.
        ("grpc.keepalive_time_ms", 120_000),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]
    if endpoint.server_name:
        options.append(("grpc.ssl_target_name_override", endpoint.server_name))
    if endpoint.tls_root_certs is None:
        return grpc.aio.insecure_channel(endpoint.address, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=endpoint.tls_root_certs,
        private_key=endpoint.client_key,
        certificate_chain=endpoint.client_cert,
    )
    return grpc.aio.secure_channel(endpoint.address, credentials, options=options)


class _AioCallView(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """Presents a finished ``grpc.aio`` error as the ``grpc.Call`` that ``translate`` reads."""

    def __init__(self, error: grpc.aio.AioRpcError) -> None:
        super().__init__(error.details())
        self._error = error

    def code(self) -> grpc.StatusCode:
        return self._error.code()

    def details(self) -> str | None:
        return self._error.details()

    def initial_metadata(self) -> Sequence[tuple[str, str | bytes]]:
        return tuple(self._error.initial_metadata() or ())

    def trailing_metadata(self) -> Sequence[tuple[str, str | bytes]]:
        return tuple(self._error.trailing_metadata() or ())

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


def translate_aio(
    error: grpc.RpcError, step_error: type[GatewayError], action: str, *, transaction_id: str = ""
) -> GatewayError:
    """:func:`fabrx._rpc_errors.translate` for errors raised by ``grpc.aio`` calls."""
    view = _AioCallView(error) if isinstance(error, grpc.aio.AioRpcError) else error
    return translate(view, step_error, action, transaction_id=transaction_id)


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
            raise translate_aio(
                error, GatewayError, "evaluate", transaction_id=request.transaction_id
            ) from error

    async def endorse(
        self, request: gateway_pb2.EndorseRequest, timeout: float | None
    ) -> gateway_pb2.EndorseResponse:
        try:
            return await self._endorse(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_aio(
                error, EndorseError, "endorse", transaction_id=request.transaction_id
            ) from error

    async def submit(self, request: gateway_pb2.SubmitRequest, timeout: float | None) -> None:
        try:
            await self._submit(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_aio(
                error, SubmitError, "submit", transaction_id=request.transaction_id
            ) from error

    async def commit_status(
        self, request: gateway_pb2.SignedCommitStatusRequest, transaction_id: str, timeout: float | None
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            return await self._commit_status(request, timeout=timeout)
        except grpc.RpcError as error:
            raise translate_aio(
                error, CommitStatusError, "commit status", transaction_id=transaction_id
            ) from error

    def chaincode_events(
        self, request: gateway_pb2.SignedChaincodeEventsRequest, timeout: float | None
    ) -> StreamCall:
        call: StreamCall = self._chaincode_events(request, timeout=timeout)
        return call

    def deliver(self, kind: DeliverKind, envelope: common_pb2.Envelope, timeout: float | None) -> StreamCall:
        call: StreamCall = self._deliver[kind](iter((envelope,)), timeout=timeout)
        return call
