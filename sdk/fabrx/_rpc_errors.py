"""The one place where ``grpc.RpcError`` becomes a fabrx error."""

from __future__ import annotations

import grpc
from fabric_protos.gateway import gateway_pb2
from google.rpc import status_pb2

from .errors import CommitStatusUnknown, ConnectionFailure, ErrorDetail, GatewayError, SubmitError

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
# Sync calls fail with a ``grpc.Call``; asyncio calls with ``grpc.aio.AioRpcError``. Both carry a code,
# details and trailing metadata, which is all that is read here.
_CALL_TYPES = (grpc.Call, grpc.aio.AioRpcError)
_CONNECTION_CODES = {grpc.StatusCode.UNAVAILABLE}


def error_details(error: grpc.RpcError | grpc.aio.AioRpcError) -> tuple[ErrorDetail, ...]:
    """Decode the per-node ``gateway.ErrorDetail`` entries of a Gateway error status."""
    trailers = error.trailing_metadata() if isinstance(error, _CALL_TYPES) else None
    details: list[ErrorDetail] = []
    for key, value in trailers or ():
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for any_detail in status.details:
            detail = gateway_pb2.ErrorDetail()
            if any_detail.Unpack(detail):
                details.append(
                    ErrorDetail(address=detail.address, msp_id=detail.msp_id, message=detail.message)
                )
    return tuple(details)


def translate(
    error: grpc.RpcError | grpc.aio.AioRpcError,
    step_error: type[GatewayError],
    action: str,
    *,
    transaction_id: str = "",
) -> GatewayError:
    """Map a gRPC failure of ``action`` to ``step_error`` (or :class:`ConnectionFailure`)."""
    code = error.code() if isinstance(error, _CALL_TYPES) else grpc.StatusCode.UNKNOWN
    message = error.details() if isinstance(error, _CALL_TYPES) else str(error)
    details = error_details(error)
    cls = ConnectionFailure if code in _CONNECTION_CODES and not details else step_error
    return cls(
        f"{action} failed: {code.name}: {message}",
        code=code.name,
        details=details,
        transaction_id=transaction_id,
    )


# A submit failing with one of these may have reached ordering: its outcome is unknown.
_OUTCOME_UNKNOWN_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
}


def translate_submit(error: grpc.RpcError | grpc.aio.AioRpcError, transaction_id: str) -> GatewayError:
    """A failed submit: :class:`SubmitError` when ordering refused it, else :class:`CommitStatusUnknown`.

    A refusal comes back from the gateway with what each orderer answered (``details``; also
    ``UNAVAILABLE`` when no orderer accepted it, e.g. while Raft elects a leader). A dropped
    connection to the gateway peer, a deadline or a cancellation says nothing about whether the
    transaction reached the orderer, so its outcome is unknown.
    """
    code = error.code() if isinstance(error, _CALL_TYPES) else grpc.StatusCode.UNKNOWN
    refused_by_orderers = code is grpc.StatusCode.UNAVAILABLE and bool(error_details(error))
    if code in _OUTCOME_UNKNOWN_CODES and not refused_by_orderers:
        return _unknown(error, "submit", transaction_id)
    return translate(error, SubmitError, "submit", transaction_id=transaction_id)


def translate_commit_status(error: grpc.RpcError | grpc.aio.AioRpcError, transaction_id: str) -> GatewayError:
    """A failed wait for the commit status: always :class:`CommitStatusUnknown` (it was submitted)."""
    return _unknown(error, "commit status", transaction_id)


def _unknown(error: grpc.RpcError | grpc.aio.AioRpcError, action: str, transaction_id: str) -> GatewayError:
    code = error.code() if isinstance(error, _CALL_TYPES) else grpc.StatusCode.UNKNOWN
    message = error.details() if isinstance(error, _CALL_TYPES) else str(error)
    return CommitStatusUnknown(
        f"{action} failed: {code.name}: {message}; the transaction may have committed: ask the ledger "
        "(Network.transaction_status) before trying again",
        code=code.name,
        details=error_details(error),
        transaction_id=transaction_id,
    )
