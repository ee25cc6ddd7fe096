"""The exception tree of fabrx_chaincode.

Everything the runtime raises derives from :class:`ChaincodeError`. Grouped by what the caller can do:

- :class:`TransactionError` and its subclasses end a transaction with an error response whose
  ``status`` and message go back to the client. Raise them from contract code:

  - :class:`InvalidArgumentError` (400): the client sent a bad argument; also raised by the runtime
    when an argument does not match its type annotation. :class:`InvalidKeyError` is one of these.
  - :class:`AccessDeniedError` (403): the client may not run this transaction.
  - :class:`UnknownTransactionError` (400): no contract or transaction by that name.

- :class:`PeerRequestError`: the peer refused a ledger request (it answered ``ERROR``); the message
  is the peer's. Uncaught, it fails the transaction with status 500.
- :class:`ProtocolError`: the stream to the peer broke or the peer broke the protocol.
- :class:`ContractDefinitionError`: a contract class cannot be served (found at start-up).
- :class:`ServerConfigError`: the server cannot start with the given address, TLS files or environment.

Any other exception escaping a transaction also fails it at once, with status 500 and the exception's
message: the peer never waits for its execute timeout.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "ChaincodeError",
    "ContractDefinitionError",
    "InvalidArgumentError",
    "InvalidKeyError",
    "PeerRequestError",
    "ProtocolError",
    "ServerConfigError",
    "TransactionError",
    "UnknownTransactionError",
]


class ChaincodeError(Exception):
    """Root of every error raised by fabrx_chaincode."""


class TransactionError(ChaincodeError):
    """Fails the current transaction; ``status`` and the message are returned to the client.

    ``status`` must be 400-599 (Fabric treats a response status of 400 or more as an error):
    400-499 for a request the client should not repeat as is, 500-599 for a failure of the chaincode.
    ``payload`` travels back in the error response (most clients ignore it).

    Raises:
        ValueError: ``status`` is outside 400-599.
    """

    default_status = 500

    def __init__(self, message: str, *, status: int | None = None, payload: bytes = b"") -> None:
        super().__init__(message)
        resolved = self.default_status if status is None else status
        if not 400 <= resolved <= 599:
            raise ValueError(f"a transaction error status must be 400-599, got {resolved}")
        self.status = resolved
        self.message = message
        self.payload = payload


class InvalidArgumentError(TransactionError, ValueError):
    """A transaction argument is missing, malformed or of the wrong type (status 400)."""

    default_status = 400


class InvalidKeyError(InvalidArgumentError):
    """A ledger key or composite-key attribute breaks Fabric's key rules (status 400)."""


class AccessDeniedError(TransactionError):
    """The client identity may not run this transaction (status 403)."""

    default_status = 403


class UnknownTransactionError(TransactionError):
    """The requested contract or transaction function does not exist (status 400)."""

    default_status = 400


class PeerRequestError(ChaincodeError):
    """The peer answered a ledger request of type ``request`` with ``ERROR``.

    The message is the peer's own (for example a private data collection the peer's organization is
    not a member of). Uncaught in a transaction, it becomes an error response with status 500.
    """

    def __init__(self, request: str, message: str) -> None:
        super().__init__(f"{request} failed: {message}")
        self.request = request
        self.peer_message = message


class ProtocolError(ChaincodeError):
    """The chaincode stream broke, or the peer sent a message the protocol does not allow here."""


class ContractDefinitionError(ChaincodeError, TypeError):
    """A contract cannot be served: duplicate names, unsupported annotations, a missing context parameter."""


class ServerConfigError(ChaincodeError):
    """The chaincode server cannot start: a missing setting, an unreadable TLS file, a bad address."""
