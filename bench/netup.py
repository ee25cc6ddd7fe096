"""The network suite: how long ``fabrx network up`` takes with the binaries present.

Measured on the default consortium file (``network/consortium.yaml``: 7 CAs, 1 Raft orderer, 6 peers,
the pharma chaincode), copied with its ports moved to :data:`NETWORK_PORT_BASE` into a fresh run
folder each time, through :meth:`fabrx_network.ConsortiumNetwork.up` exactly as the CLI calls it:

* ``up_joined_s``: from the start of ``up`` until every peer has joined the channel (the steps up to
  and including ``channels``);
* ``up_ready_s``: the whole ``up``, the chaincode deployed and gossip converged (a Gateway can then
  choose endorsers of every organization);
* ``restart_s``: ``down`` without purge, then ``up`` again on the kept ledgers and keys.

Each is the median of :data:`FRESH_RUNS` fresh runs. The one-time ``fabrx fabric install`` (building
Fabric from source) is far too slow to repeat in ``make bench``; :data:`INSTALL_COST` records one
measurement made by hand, with its command and date.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .benchnet import DEFAULT_CONSORTIUM, UpNetwork, load_template, ports_taken, running_network, variant
from .runner import BenchError

__all__ = [
    "FRESH_RUNS",
    "GOALS",
    "INSTALL_COST",
    "NETWORK_PORT_BASE",
    "InstallCost",
    "NetworkRun",
    "joined_seconds",
    "network_figures",
    "network_suite",
]

# Clear of the default consortium (7050+), the integration suite (37050+) and the bench network
# (61050+), and above Linux's ephemeral ports (32768-60999; see bench/__main__.py).
NETWORK_PORT_BASE = 62050
FRESH_RUNS = 3
# The step of UpReport after which every peer has joined every channel.
JOINED_STEP = "channels"
# The goals of bringing the network up on this 2-core machine kind: every peer joined within
# 10 s, ready within 15 s.
GOALS = {"up_joined_s": 10.0, "up_ready_s": 15.0}
# Wall time of one fresh run with its restart and teardown, for the time budget (measured 23-25 s
# on a busy 2-core machine).
SECONDS_PER_RUN = 27.0
RESTART_ATTEMPTS = 5
RESTART_WAIT_S = 2.0

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class InstallCost:
    """One hand measurement of the one-time install (download and build of Fabric and Fabric CA)."""

    seconds: float
    command: str
    date: str
    note: str = ""


INSTALL_COST: InstallCost | None = InstallCost(
    seconds=161.0,
    command="FABRX_CACHE=$(mktemp -d) GOCACHE=$(mktemp -d) .venv/bin/fabrx fabric install",
    date="2026-11-25 22:31 UTC",
    note=(
        "Fabric 3.1.5 built from the shared source bundle in 84 s, then Fabric CA 1.5.21 fetched through "
        "the Go module proxy (module cache warm) and built; load average 1.2 at the start, but an "
        "integration suite started during the Fabric CA build (load 6.3 at the end), so an upper bound"
    ),
)


@dataclass(frozen=True, kw_only=True)
class NetworkRun:
    """One fresh ``up`` (its steps with seconds) and the restart that followed it."""

    steps: tuple[tuple[str, float], ...]
    up_s: float
    restart_s: float | None
    restart_steps: tuple[tuple[str, float], ...] = ()

    @property
    def joined_s(self) -> float:
        return joined_seconds(self.steps)


def joined_seconds(steps: Sequence[tuple[str, float]]) -> float:
    """Seconds of the steps up to and including ``channels`` (every peer joined).

    Raises:
        ValueError: no ``channels`` step among ``steps``.
    """
    total = 0.0
    for name, seconds in steps:
        total += seconds
        if name == JOINED_STEP:
            return total
    raise ValueError(f"no {JOINED_STEP!r} step in {[name for name, _ in steps]}")


def network_figures(runs: Sequence[NetworkRun], install: InstallCost | None = INSTALL_COST) -> dict[str, Any]:
    """The ``network`` results section: medians over ``runs``, the install figure, each run's steps.

    Raises:
        ValueError: ``runs`` is empty.
    """
    if not runs:
        raise ValueError("no network runs to summarize")
    restarts = [r.restart_s for r in runs if r.restart_s is not None]
    return {
        "up_joined_s": round(statistics.median(r.joined_s for r in runs), 2),
        "up_ready_s": round(statistics.median(r.up_s for r in runs), 2),
        "restart_s": round(statistics.median(restarts), 2) if restarts else None,
        "install_s": install.seconds if install else None,
        "install": (
            {"command": install.command, "date": install.date, "note": install.note} if install else None
        ),
        "runs": len(runs),
        "goals": dict(GOALS),
        "steps": [
            {
                "up": [[name, round(seconds, 2)] for name, seconds in r.steps],
                "restart": [[name, round(seconds, 2)] for name, seconds in r.restart_steps],
            }
            for r in runs
        ],
    }


def _restart(up: UpNetwork, progress: Progress) -> tuple[float | None, tuple[tuple[str, float], ...]]:
    """``down`` (ledgers kept), then ``up`` again, timed; ``None`` when its ports stayed taken."""
    network = up.network
    network.down()
    for attempt in range(RESTART_ATTEMPTS):
        started = time.monotonic()
        try:
            report = network.up(fabric=up.fabric)
        except Exception as exc:
            # The channel configuration pins the orderer's port, so a restart cannot move; another
            # program's connection holding one of the ports for a while only delays it.
            if not ports_taken(exc):
                raise BenchError(f"restarting the network failed: {exc}") from exc
            progress(f"restart: a port is taken ({attempt + 1}/{RESTART_ATTEMPTS}); waiting")
            time.sleep(RESTART_WAIT_S)
            continue
        return time.monotonic() - started, tuple(report.steps)
    return None, ()


def _one_run(index: int, progress: Progress) -> NetworkRun:
    consortium = variant(load_template(DEFAULT_CONSORTIUM), port_base=NETWORK_PORT_BASE)
    with running_network(consortium, label=f"network-{index + 1}", progress=_quiet) as up:
        restart_s, restart_steps = _restart(up, progress)
        run = NetworkRun(steps=up.steps, up_s=up.seconds, restart_s=restart_s, restart_steps=restart_steps)
    restart = f"{run.restart_s:.1f} s" if run.restart_s is not None else "not measured (ports taken)"
    progress(
        f"network run {index + 1}: joined {run.joined_s:.1f} s, ready {run.up_s:.1f} s, restart {restart}"
    )
    return run


def _quiet(_: str) -> None:
    """Progress of the measured ``up`` is not printed: the steps are reported with their seconds."""


def network_suite(*, runs: int = FRESH_RUNS, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Bring the default consortium up ``runs`` times from nothing; return the ``network`` section.

    Raises:
        BenchError: Fabric is not installed or a network did not come up.
    """
    measured = [_one_run(index, progress) for index in range(runs)]
    return {"network": network_figures(measured)}
