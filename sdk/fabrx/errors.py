"""The fabrx exception tree.

Every error the ``fabrx`` library raises derives from :class:`FabrxError`. Third-party exceptions
(``grpc.RpcError``, ``ssl.SSLError``, ``OSError`` from sockets) are translated once, where fabrx talks
to the network, and chained as ``__cause__``.

Grouped by what a caller can do about them::

    FabrxError
    ├── ArgumentError        an argument is unusable (also a ValueError): a malformed address or port,
    │   │                    connection profile, transaction id or timeout; nothing was sent
    │   └── ArgumentTypeError  an argument of the wrong type (also a TypeError), e.g. an int where a
    │                          transaction argument must be str or bytes
    ├── IdentityError        credentials or keys are unusable: fix the wallet / MSP folder
    ├── GatewayError         a Fabric service answered with an error (gRPC status + per-node details)
    │   ├── ConnectionFailure  unreachable node or failed TLS handshake before anything was sent to
    │   │                      ordering (evaluate, endorse, events): retry or fix the endpoint
    │   ├── EndorseError     endorsement failed; nothing was sent to ordering, the ledger is unchanged
    │   ├── SubmitError      ordering refused the transaction; the ledger is unchanged
    │   └── CommitStatusError  the commit status could not be read
    │       └── CommitStatusUnknown  the transaction was (or may have been) sent to ordering and its
    │                                outcome is unknown: it may have committed VALID. Never retry it as
    │                                new; ask the ledger first (``Network.transaction_status``)
    ├── CommitError          the transaction was ordered but committed as invalid (validation code given)
    ├── AdminError           a channel, membership or chaincode lifecycle operation failed
    └── CAError              a Fabric CA request failed
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AdminError",
    "ArgumentError",
    "ArgumentTypeError",
    "CAError",
    "CommitError",
    "CommitStatusError",
    "CommitStatusUnknown",
    "ConnectionFailure",
    "EndorseError",
    "ErrorDetail",
    "FabrxError",
    "GatewayError",
    "IdentityError",
    "SubmitError",
]


class FabrxError(Exception):
    """Root of every error raised by the fabrx library."""


class ArgumentError(FabrxError, ValueError):
    """An argument cannot be used: the message names it and what is wrong. Nothing was sent.

    Also a :class:`ValueError`, so code written against Python's conventions still catches it.
    """


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument has the wrong type. Also a :class:`TypeError`, as Python code expects."""


class IdentityError(FabrxError):
    """A certificate, private key or MSP folder cannot be used."""


@dataclass(frozen=True)
class ErrorDetail:
    """What one peer or orderer reported while handling a request."""

    address: str
    msp_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.address} ({self.msp_id}): {self.message}"


class GatewayError(FabrxError):
    """A Fabric gRPC service answered with an error.

    ``code`` is the gRPC status code name (``"UNAVAILABLE"``, ``"ABORTED"``...), ``details`` what each
    failing node reported (decoded from the ``grpc-status-details-bin`` trailer).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "UNKNOWN",
        details: tuple[ErrorDetail, ...] = (),
        transaction_id: str = "",
    ) -> None:
        self.code = code
        self.details = details
        self.transaction_id = transaction_id
        text = message
        if transaction_id:
            text += f" [transaction {transaction_id}]"
        if details:
            text += "".join(f"\n  - {detail}" for detail in details)
        super().__init__(text)


class ConnectionFailure(GatewayError):
    """A node could not be reached (refused, timed out, TLS handshake failed)."""


class EndorseError(GatewayError):
    """Endorsement failed. The transaction was not submitted: the ledger is unchanged."""


class SubmitError(GatewayError):
    """The orderer refused the endorsed transaction. The ledger is unchanged."""


class CommitStatusError(GatewayError):
    """The commit status could not be obtained. The transaction may still commit: ask again."""


class CommitStatusUnknown(CommitStatusError):
    """The transaction went to ordering (or may have), but whether and how it committed is not known.

    Raised when the submit or the wait for the commit status fails for a reason that says nothing about
    the transaction itself: the gateway peer died or became unreachable, the deadline passed, the call
    was cancelled. The transaction may well have committed VALID, so it is never safe to submit the
    same business operation again as a new transaction. Ask the ledger first with
    ``Network.transaction_status(error.transaction_id)`` (or wait for its status again with
    ``Network.commit_status``): a ``Status`` says how it committed; ``None`` says no reachable peer has
    it yet, and it may still commit. Re-submitting the *same* signed transaction (same transaction id)
    is always safe, since Fabric commits one transaction id at most once.

    ``code`` is the gRPC status of the failed call (``"UNAVAILABLE"``, ``"DEADLINE_EXCEEDED"``...).
    """


class CommitError(FabrxError):
    """The transaction was ordered into a block but validated as invalid; its writes were discarded."""

    def __init__(self, transaction_id: str, validation_code: str, block_number: int) -> None:
        self.transaction_id = transaction_id
        self.validation_code = validation_code
        self.block_number = block_number
        super().__init__(
            f"transaction {transaction_id} committed as invalid in block {block_number}: {validation_code}"
        )


class AdminError(FabrxError):
    """A channel participation, peer membership or chaincode lifecycle operation failed."""


class CAError(FabrxError):
    """A Fabric CA request failed; ``messages`` holds the CA's own error texts."""

    def __init__(self, message: str, *, messages: tuple[str, ...] = ()) -> None:
        self.messages = messages
        super().__init__(message + "".join(f"\n  - {m}" for m in messages))
