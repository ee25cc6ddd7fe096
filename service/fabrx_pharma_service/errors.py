"""The service's errors, each with the HTTP status it answers with.

Every refusal the service sends is a :class:`ServiceError` turned into one JSON body at one boundary
(:mod:`fabrx_pharma_service.app`)::

    {"status": 400, "code": "CONSERVATION", "field": "lines[0].quantity",
     "message": "...", "transaction_id": "..."}

``code`` is the chaincode's rule (``CONSERVATION``, ``INVOICE_REUSED``, ``RECORD`` ...) or the service's
own (``SIGNATURE``, ``REPLAYED``, ``IDEMPOTENCY_CONFLICT`` ...); ``field`` names the offending field or
header. Grouped by what the caller can do::

    ServiceError
    ├── Unauthenticated     401 unsigned, bad, expired or replayed signature, unknown key, clock skew
    ├── Forbidden           403 the application's role may not call this (or read this trade)
    ├── NotFound            404 nothing stored under that key
    ├── Conflict            409 idempotency key reused with another body, record exists, tx invalidated
    ├── PayloadTooLarge     413 body larger than the service accepts
    ├── MalformedRequest    422 body is not JSON, or not the JSON the operation takes
    ├── Refused             400 the chaincode (or the facade before sending) refused the record
    ├── NetworkUnavailable  503 no peer could be reached: retry with the same idempotency key
    └── NetworkFailed       502 a peer or orderer answered with an error: retry with the same key
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Forbidden",
    "MalformedRequest",
    "NetworkFailed",
    "NetworkUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "Refused",
    "ServiceError",
    "Unauthenticated",
]


class ServiceError(Exception):
    """A request the service refuses: ``status`` (HTTP), ``code``, ``field``, ``message``, and the
    Fabric ``transaction_id`` when a transaction was proposed. ``problems`` lists every bad field of a
    malformed record as ``(field, message)``. ``retryable``: nothing was written and the same request
    may succeed later (network failures, an invalidated transaction), so its idempotency key is released.
    """

    status = 500

    def __init__(
        self,
        code: str,
        field: str,
        message: str,
        *,
        transaction_id: str = "",
        problems: tuple[tuple[str, str], ...] = (),
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{code} {field}: {message}")
        self.code = code
        self.field = field
        self.message = message
        self.transaction_id = transaction_id
        self.problems = problems
        if status is not None:
            self.status = status
        self.retryable = retryable or self.status >= 500

    def body(self) -> dict[str, object]:
        """The JSON error body."""
        body: dict[str, object] = {
            "status": self.status,
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "transaction_id": self.transaction_id,
        }
        if self.problems:
            body["problems"] = [{"field": f, "message": m} for f, m in self.problems]
        return body


class Refused(ServiceError):
    status = 400


class Unauthenticated(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PayloadTooLarge(ServiceError):
    status = 413


class MalformedRequest(ServiceError):
    status = 422


class NetworkFailed(ServiceError):
    status = 502


class NetworkUnavailable(ServiceError):
    status = 503
