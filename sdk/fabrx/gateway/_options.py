"""Settings of a Gateway connection: per-step deadlines and event stream reconnection."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArgumentError


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeouts:
    """Deadlines in seconds for each Gateway step (``None``: no deadline).

    ``commit_status`` bounds the wait for a transaction to commit; ``chaincode_events`` bounds a whole
    event subscription, chaincode or block events, reconnections included (unbounded by default).
    """

    evaluate: float | None = 5.0
    endorse: float | None = 15.0
    submit: float | None = 5.0
    commit_status: float | None = 60.0
    chaincode_events: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Reconnect:
    """How an event stream reconnects after it broke (peer restart, network loss).

    The first retry waits ``initial_delay`` seconds; each further one ``multiplier`` times longer, at
    most ``max_delay``. After ``give_up_after`` seconds without a working stream the iterator raises
    :class:`~fabrx.errors.ConnectionFailure` instead of retrying.
    """

    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0
    give_up_after: float = 60.0

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < self.initial_delay or self.multiplier < 1:
            raise ArgumentError(
                "Reconnect needs 0 <= initial_delay <= max_delay and multiplier >= 1, got "
                f"initial_delay={self.initial_delay}, max_delay={self.max_delay}, "
                f"multiplier={self.multiplier}"
            )
        if self.give_up_after < 0:
            raise ArgumentError(f"give_up_after must be >= 0 seconds, got {self.give_up_after}")
