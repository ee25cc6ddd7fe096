"""How the pharma facades try a request again: tenacity policies whose every retry is logged.

Each retry is logged at INFO on the ``fabrx.pharma`` logger before the wait, with what was tried, the
attempt, the reason (an error class and its code or rule, never a message, which may quote record
fields) and the transaction id when the failed attempt had one, so an operator can find the transaction
in the peers' logs. The last failure is raised as it is (``reraise``), never wrapped in tenacity's
``RetryError``; an exception the predicate does not name (``KeyboardInterrupt``, a timeout the caller
set) is raised at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import WaitBaseT

__all__ = ["reason_of", "retrying", "transaction_id_of"]

_log = logging.getLogger("fabrx.pharma")


def transaction_id_of(error: BaseException | None) -> str:
    """The transaction id an error (or an error it was raised from) carries, or ``""``."""
    while error is not None:
        transaction_id = getattr(error, "transaction_id", "")
        if isinstance(transaction_id, str) and transaction_id:
            return transaction_id
        error = error.__cause__
    return ""


def reason_of(error: BaseException | None) -> str:
    """An error's class and its code: the rule of a refusal, the validation code of an invalid commit,
    the gRPC status of a gateway error."""
    if error is None:
        return "no error"
    for attribute in ("rule", "validation_code", "code"):
        code = getattr(error, attribute, None)
        if isinstance(code, str) and code:
            return f"{type(error).__name__} {code}"
    return type(error).__name__


def retrying(
    what: str, retry_if: Callable[[BaseException], bool], *, attempts: int, wait: WaitBaseT
) -> Retrying:
    """A policy that tries ``attempts`` times while ``retry_if`` accepts the error, waiting ``wait``."""

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        transaction_id = transaction_id_of(error)
        _log.info(
            "%s: attempt %d of %d failed (%s)%s; trying again in %.2f s",
            what,
            state.attempt_number,
            attempts,
            reason_of(error),
            f" [transaction {transaction_id}]" if transaction_id else "",
            state.upcoming_sleep,
        )

    return Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait,
        retry=retry_if_exception(retry_if),
        before_sleep=log,
        reraise=True,
    )
