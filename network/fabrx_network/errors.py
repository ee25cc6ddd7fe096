"""The exception tree of the network tooling (``fabrx_network``).

Every error the network tooling raises on purpose derives from :class:`NetworkError`, so a command line
can turn all of them into one exit code. Grouped by what the caller can do about them::

    NetworkError
    ├── InstallError   Fabric or Fabric CA binaries could not be found, verified or built:
    │                  the message names the source tried, what failed and what to do
    ├── ProcessError   a node process could not be started or stopped, died while starting,
    │                  or a port it needs is taken: the message names the node and its log file
    ├── HealthError    a node process runs but its operations endpoint did not report healthy in time
    └── UpError        ``up`` failed: carries the cause, what that ``up`` started and stopped again,
                       and what still runs (nodes that were running before it are never stopped)

Other modules of the package (configuration loading, rendering) add their own subclasses of
:class:`NetworkError` next to their code.
"""

from __future__ import annotations

from fabrx.errors import FabrxError

__all__ = ["HealthError", "InstallError", "NetworkError", "NetworkNotUp", "ProcessError", "UpError"]


class NetworkError(FabrxError):
    """Root of every error raised by the fabrx network tooling (itself a :class:`fabrx.errors.FabrxError`)."""


class NetworkNotUp(NetworkError):
    """The network a command needs is not running in this run directory: never started there, or down.

    The message is one line that says which, and what to run (``fabrx network up``).
    """


class InstallError(NetworkError):
    """Fabric or Fabric CA could not be installed or located.

    The fields repeat what the message says, for callers that render them differently.

    Attributes:
        source: the install source that was tried, e.g. the archive path or ``FABRIC_BIN=/opt/fabric/bin``.
        step: what failed, e.g. ``"verify sha256"`` or ``"go install"``.
        hint: what the user can do about it.
        output: the last lines of the failing tool's output (may be empty).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        step: str = "",
        hint: str = "",
        output: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.step = step
        self.hint = hint
        self.output = output
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.args[0] if self.args else "install failed"]
        if self.source:
            parts.append(f"source: {self.source}")
        if self.output:
            parts.append("last output lines:\n" + "\n".join(f"  {line}" for line in self.output))
        if self.hint:
            parts.append(f"what to do: {self.hint}")
        return "\n".join(parts)


class ProcessError(NetworkError):
    """A node process failed to start, died, could not be stopped, or a port it needs is in use."""


class HealthError(NetworkError):
    """A node's operations endpoint did not answer ``GET /healthz`` with status OK in time."""


class UpError(NetworkError):
    """``up`` failed. The message is the cause's, followed by what ``up`` did about the processes.

    Attributes:
        cause: the error of the failing step (also chained as ``__cause__``).
        started: the nodes this ``up`` started before it failed.
        stopped: those of ``started`` it stopped again (all of them unless ``problem`` says otherwise).
        running: every node of the run directory still running afterwards (it never stops a node it
            did not start).
        problem: why stopping a started node failed, or "".
    """

    def __init__(
        self,
        cause: BaseException,
        *,
        started: list[str],
        stopped: list[str],
        running: list[str],
        problem: str = "",
    ) -> None:
        self.cause = cause
        self.started = tuple(started)
        self.stopped = tuple(stopped)
        self.running = tuple(running)
        self.problem = problem
        if stopped:
            undo = f"stopped what this run had started: {', '.join(stopped)}{problem}"
        elif started:
            undo = f"this run had started {', '.join(started)}, which exited again{problem}"
        else:
            undo = "this run started no node and stopped none"
        kept = (
            f"{len(running)} node(s) that were already running keep running: {', '.join(running)}"
            if running
            else "no node of this run directory is running"
        )
        super().__init__(f"{cause}\nnetwork up failed: {undo}; {kept}")
