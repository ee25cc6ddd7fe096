"""When an event stream may reconnect, and how long it waits: pure logic shared by sync and asyncio."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..errors import ConnectionFailure, GatewayError
from ._options import Reconnect

# gRPC codes (and Deliver statuses) seen while a peer restarts or a connection drops. Anything else
# (PERMISSION_DENIED, INVALID_ARGUMENT, NOT_FOUND, DEADLINE_EXCEEDED...) will not heal by retrying.
RETRYABLE_CODES = frozenset(
    {"UNAVAILABLE", "CANCELLED", "ABORTED", "INTERNAL", "UNKNOWN", "SERVICE_UNAVAILABLE"}
)

STREAM_ENDED = "UNAVAILABLE"

_log = logging.getLogger("fabrx.gateway")


class Outage:
    """Tracks consecutive failures of one event stream and decides the wait before reconnecting.

    An outage starts with the first failure after the stream delivered something (or after it stayed
    open for ``max_delay`` seconds) and lasts until the stream delivers again. Each reconnect and each
    resumption is logged at INFO on the ``fabrx.gateway`` logger with ``position`` (where the stream
    resumes: the block, and for chaincode events the last transaction id received).
    """

    def __init__(
        self,
        policy: Reconnect | None,
        what: str,
        clock: Callable[[], float] = time.monotonic,
        *,
        position: Callable[[], str] = lambda: "",
    ) -> None:
        self._policy = policy
        self._what = what
        self._clock = clock
        self._position = position
        self._since: float | None = None
        self._opened_at = 0.0
        self._delay = 0.0

    def opened(self) -> None:
        """A new stream was opened."""
        self._opened_at = self._clock()

    def progressed(self) -> None:
        """The stream delivered a response: the outage, if any, is over."""
        if self._since is not None:
            _log.info(
                "%s: resumed after %.1f s without a stream; now %s",
                self._what,
                self._clock() - self._since,
                self._position(),
            )
        self._since = None

    def next_delay(self, error: GatewayError) -> float:
        """Seconds to wait before reconnecting after ``error``.

        Raises:
            GatewayError: ``error`` itself when reconnecting is disabled or cannot help.
            ConnectionFailure: the outage has lasted longer than ``give_up_after``.
        """
        policy = self._policy
        if policy is None or error.code not in RETRYABLE_CODES:
            raise error
        now = self._clock()
        if self._since is None or now - self._opened_at >= policy.max_delay:
            self._since = now
            self._delay = policy.initial_delay
        else:
            self._delay = min(max(self._delay * policy.multiplier, policy.initial_delay), policy.max_delay)
        elapsed = now - self._since
        if elapsed >= policy.give_up_after:
            raise ConnectionFailure(
                f"{self._what}: gave up reconnecting after {elapsed:.1f} s (give_up_after="
                f"{policy.give_up_after} s); last error: {error}",
                code=error.code,
                details=error.details,
            ) from error
        delay = min(self._delay, policy.give_up_after - elapsed)
        _log.info(
            "%s: stream broke (%s); reconnecting in %.2f s to resume %s",
            self._what,
            error.code,
            delay,
            self._position(),
        )
        return delay
