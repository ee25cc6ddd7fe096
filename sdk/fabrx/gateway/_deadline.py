"""One time budget for a whole call that takes several steps: pure logic shared by sync and asyncio."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import ArgumentError


class Deadline:
    """The time left for a call (``timeout`` seconds from now), handed out step by step.

    Without a timeout each step keeps its own default (the Gateway's :class:`Timeouts`). With one, every
    step (reading the chaincode definition, endorse, submit, commit status) gets what is left of it, so
    the whole call ends within ``timeout`` seconds: the step that runs out fails with code
    ``DEADLINE_EXCEEDED`` as that step's error (before submit: nothing was ordered; from submit on:
    :class:`~fabrx.errors.CommitStatusUnknown`). ``cancel``, when given, is handed to every step of a
    sync call: setting it cancels the request in flight.
    """

    __slots__ = ("_clock", "_end", "cancel")

    def __init__(
        self,
        timeout: float | None,
        *,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        numeric = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        if timeout is not None and not (numeric and timeout > 0):
            raise ArgumentError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.cancel = cancel
        self._clock = clock
        self._end = None if timeout is None else clock() + timeout

    def left(self) -> float | None:
        """The deadline of the next step: None (the step's own default) without a budget, else the
        seconds left (>= 0; at 0 the step fails at once with ``DEADLINE_EXCEEDED``)."""
        if self._end is None:
            return None
        return max(self._end - self._clock(), 0.0)


NO_DEADLINE = Deadline(None)
