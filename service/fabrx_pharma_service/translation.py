"""The one translation of library errors into service errors (the boundary of the service)."""

from __future__ import annotations

from fabrx import CommitError, ConnectionFailure, GatewayError
from fabrx.errors import CommitStatusUnknown, FabrxError
from fabrx.pharma import AccessRefused, PharmaError, RecordInvalid, RecordNotFound
from fabrx_pharma import RecordError

from .errors import Conflict, Forbidden, NetworkFailed, NetworkUnavailable, NotFound, Refused, ServiceError

__all__ = ["service_error"]

_DUPLICATES = frozenset({"DUPLICATE_RECORD", "INVOICE_REUSED"})


def service_error(error: BaseException) -> ServiceError:
    """The one translation of library errors into service errors (the boundary)."""
    if isinstance(error, ServiceError):
        return error
    if isinstance(error, RecordInvalid):
        return Refused(
            "RECORD", error.field, error.message, problems=error.problems, transaction_id=error.transaction_id
        )
    if isinstance(error, RecordNotFound):
        return NotFound(error.rule, error.field, error.message, transaction_id=error.transaction_id)
    if isinstance(error, AccessRefused):
        return Forbidden(error.rule, error.field, error.message, transaction_id=error.transaction_id)
    if isinstance(error, PharmaError):
        cls: type[ServiceError] = Refused
        if error.rule == "ROLE":
            cls = Forbidden
        elif error.rule in _DUPLICATES:
            cls = Conflict
        elif error.status is not None and error.status >= 500:
            cls = ServiceError
        return cls(error.rule, error.field, error.message, transaction_id=error.transaction_id)
    if isinstance(error, RecordError):
        problems = tuple((p.field, p.message) for p in error.problems)
        return Refused("RECORD", problems[0][0] if problems else "body", str(error), problems=problems)
    store_error = _supervision_error(error)
    if store_error is not None:
        return store_error
    if isinstance(error, CommitError):
        return Conflict(
            error.validation_code,
            "transaction",
            f"the transaction was ordered but invalidated ({error.validation_code}): nothing was written, "
            "send the request again",
            transaction_id=error.transaction_id,
            retryable=True,
        )
    if isinstance(error, CommitStatusUnknown):
        return NetworkFailed(
            "COMMIT_STATUS_UNKNOWN",
            "transaction",
            f"the transaction was sent but its outcome is unknown ({error.code}): ask "
            f"GET /v1/transactions/{error.transaction_id} before sending the request again",
            transaction_id=error.transaction_id,
        )
    if isinstance(error, ConnectionFailure):
        return NetworkUnavailable(
            "UNAVAILABLE",
            "peer",
            f"the member's peer cannot be reached: {error}",
            transaction_id=error.transaction_id,
        )
    if isinstance(error, GatewayError):
        return NetworkFailed(error.code, "peer", str(error), transaction_id=error.transaction_id)
    if isinstance(error, FabrxError):
        return ServiceError("IDENTITY", "identity", f"the service cannot act for this application: {error}")
    return ServiceError("INTERNAL", "", "internal error")


def _supervision_error(error: BaseException) -> ServiceError | None:
    """A supervision store's error, when the service has one. The store's package (and its database
    drivers) is an optional part of the service: it is imported only when an error may come from it."""
    if not type(error).__module__.startswith("fabrx_pharma_supervision"):
        return None
    from fabrx_pharma_supervision import NotFound as StoreNotFound
    from fabrx_pharma_supervision import StoreUnavailable, SupervisionError

    if isinstance(error, StoreUnavailable):
        return NetworkUnavailable("STORE_UNAVAILABLE", "supervision_store", str(error))
    if isinstance(error, StoreNotFound):
        return NotFound("NOT_FOUND", "key", str(error))
    if isinstance(error, SupervisionError):
        return ServiceError("SUPERVISION_STORE", "supervision_store", str(error))
    return None
