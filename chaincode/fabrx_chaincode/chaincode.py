"""What the shim runs: a :class:`Chaincode` answering each transaction with a :class:`ChaincodeResponse`.

The shim knows only this protocol; the contract layer (:class:`~fabrx_chaincode.ContractChaincode`)
is one implementation, and a hand-written chaincode can be another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .errors import TransactionError

if TYPE_CHECKING:
    from .stub import ChaincodeStub

__all__ = ["Chaincode", "ChaincodeEvent", "ChaincodeResponse", "response_for_exception"]

OK = 200
ERROR = 500
ERROR_THRESHOLD = 400
"""A response status at or above this is an error to the peer (Fabric's ``shim.ERRORTHRESHOLD``)."""

_log = logging.getLogger("fabrx_chaincode")


@dataclass(frozen=True, slots=True)
class ChaincodeResponse:
    """A transaction's result: ``status`` (200 success, 400 and above error), ``message`` and ``payload``."""

    status: int = OK
    message: str = ""
    payload: bytes = b""

    @property
    def ok(self) -> bool:
        """True when the peer treats the response as a success (status below 400)."""
        return self.status < ERROR_THRESHOLD


@dataclass(frozen=True, slots=True)
class ChaincodeEvent:
    """The event a transaction sets; the peer adds the chaincode name and transaction id to it."""

    name: str
    payload: bytes = b""


class Chaincode(Protocol):
    """A chaincode as the shim sees it.

    Both methods must return a response rather than raise; the shim still turns an escaping
    exception into an error response (see :func:`response_for_exception`).
    """

    async def init(self, stub: ChaincodeStub) -> ChaincodeResponse:
        """Run an ``INIT`` message (a definition with ``--init-required``)."""
        ...

    async def invoke(self, stub: ChaincodeStub) -> ChaincodeResponse:
        """Run a ``TRANSACTION`` message."""
        ...


def response_for_exception(exc: BaseException, transaction_id: str) -> ChaincodeResponse:
    """The error response for an exception that ended a transaction.

    A :class:`TransactionError` keeps its status, message and payload. Anything else becomes status
    500 with the exception's message; its type and traceback go to the log at DEBUG only, since
    messages built by contract code may carry ledger data.
    """
    if isinstance(exc, TransactionError):
        return ChaincodeResponse(status=exc.status, message=exc.message, payload=exc.payload)
    _log.warning("transaction %s failed with %s", transaction_id[:8], type(exc).__name__)
    _log.debug("transaction %s failure", transaction_id[:8], exc_info=exc)
    return ChaincodeResponse(status=ERROR, message=str(exc) or type(exc).__name__)
