"""Runs one load driver process and charges the CPU of the watched server processes to its window.

The driver (fabrx's ``python -m bench.load`` or the Node ``tests/interop/bench-client.js``) announces
its measured window on standard output; at each announcement the runner samples the CPU time of every
watched process (and the driver's own, from ``/proc``, as a cross-check of its self-reported figure)
and the machine's busy counters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from . import cpu
from .load import LoadConfig

__all__ = [
    "CLIENTS",
    "BenchError",
    "ClientKind",
    "QuietRunner",
    "RunResult",
    "driver_command",
    "run_driver",
    "wait_for_quiet",
]

ClientKind = Literal["fabrx", "node", "node_openssl"]
CLIENTS: tuple[ClientKind, ...] = ("fabrx", "node", "node_openssl")

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_DRIVER = REPO_ROOT / "tests" / "interop" / "bench-client.js"


class BenchError(Exception):
    """A benchmark step failed (driver crashed, timed out, or a process to watch is gone)."""


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """One driver run: the driver's ``result`` line plus what the runner sampled around its window.

    ``server_cpu_ms`` maps each watched process name to the CPU milliseconds it used in the window;
    ``machine_busy`` is the busy fraction of all cores over the window (0 to 1); ``foreign_cpu_ms`` is
    the machine's busy time that neither the driver nor a watched process used (kernel work for the
    loopback network, and any other program competing for the cores, which taints the figures).
    """

    client: ClientKind
    driver: Mapping[str, Any]
    server_cpu_ms: Mapping[str, float]
    driver_cpu_ms_proc: float
    machine_busy: float
    foreign_cpu_ms: float = 0.0

    @property
    def count(self) -> int:
        return int(self.driver["count"])

    @property
    def tps(self) -> float:
        return float(self.driver["tps"])

    @property
    def foreign_fraction(self) -> float:
        """``foreign_cpu_ms`` as a fraction of all cores over the window (0 to 1)."""
        capacity_ms = float(self.driver["elapsed_s"]) * 1000 * (os.cpu_count() or 1)
        return self.foreign_cpu_ms / capacity_ms if capacity_ms > 0 else 0.0

    def per_transaction(self, cpu_ms: float) -> float | None:
        """``cpu_ms`` divided by the transactions completed in the window (``None`` if there were none)."""
        return round(cpu_ms / self.count, 3) if self.count else None


def driver_command(client: ClientKind, config_path: Path, *, python: str = sys.executable) -> list[str]:
    """The argv that runs ``client``'s driver on the config file ``config_path``."""
    if client == "fabrx":
        return [python, "-m", "bench.load", str(config_path)]
    # --no-deprecation: grpc-js sets the TLS server name to an IP address, which Node 20 warns about.
    return ["node", "--no-deprecation", str(NODE_DRIVER), str(config_path)]


def _sample(pids: Mapping[str, int]) -> dict[str, float]:
    try:
        return cpu.trees_cpu_seconds(pids)
    except ProcessLookupError as exc:
        raise BenchError(f"a watched process has exited: {exc}") from exc


def run_driver(
    client: ClientKind,
    config: LoadConfig,
    *,
    watched: Mapping[str, int],
    timeout_s: float | None = None,
) -> RunResult:
    """Run ``client``'s driver on ``config``; sample ``watched`` processes at its window's edges.

    Raises:
        BenchError: the driver failed, broke the output protocol, ran past ``timeout_s`` (default: its
            warmup and duration plus 60 s), every transaction failed, or a watched process exited.
    """
    if client == "node_openssl" and config.signer != "openssl":
        raise ValueError("the node_openssl client needs a config with signer='openssl'")
    limit = timeout_s if timeout_s is not None else config.warmup_s + (config.duration_s or 60.0) + 60.0
    with tempfile.TemporaryDirectory(prefix="fabrx-bench-") as folder:
        config_path = Path(folder) / "config.json"
        config_path.write_text(config.to_json())
        stderr_path = Path(folder) / "stderr.txt"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                driver_command(client, config_path),
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
            try:
                samples, result = _follow(process, watched)
                process.wait(timeout=limit)
            except subprocess.TimeoutExpired as exc:
                raise BenchError(f"{client} driver ran longer than {limit:.0f} s") from exc
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if process.returncode != 0 or result is None or len(samples) != 2:
            tail = stderr_path.read_text()[-2000:]
            raise BenchError(
                f"{client} driver failed (exit status {process.returncode}) on "
                f"{config.mode} at concurrency {config.concurrency}: {tail.strip() or 'no output'}"
            )
    if result["count"] == 0 and result["errors"]:
        raise BenchError(
            f"{client} {config.mode} at concurrency {config.concurrency}: every transaction failed, "
            f"the first with {result['first_error']}"
        )
    (before, machine_before), (after, machine_after) = samples
    used_ms = {name: (after[name] - before[name]) * 1000 for name in after}
    busy_ms = (machine_after.busy - machine_before.busy) / cpu.clock_ticks() * 1000
    return RunResult(
        client=client,
        driver=result,
        server_cpu_ms={name: round(used_ms[name], 1) for name in watched},
        driver_cpu_ms_proc=round(used_ms["driver"], 1),
        machine_busy=round(machine_after.busy_fraction_since(machine_before), 3),
        foreign_cpu_ms=round(max(0.0, busy_ms - sum(used_ms.values())), 1),
    )


def _follow(
    process: subprocess.Popen[str], watched: Mapping[str, int]
) -> tuple[list[tuple[dict[str, float], cpu.MachineCpu]], dict[str, Any] | None]:
    """Read the driver's protocol lines; sample CPU at ``window_start`` and ``window_end``."""
    pids = {**watched, "driver": process.pid}
    samples: list[tuple[dict[str, float], cpu.MachineCpu]] = []
    result: dict[str, Any] | None = None
    assert process.stdout is not None
    for line in process.stdout:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchError(f"driver wrote a line outside the protocol: {line[:200]!r}") from exc
        event = record.get("event")
        if event in ("window_start", "window_end"):
            samples.append((_sample(pids), cpu.machine_cpu()))
        elif event == "result":
            result = record
    return samples, result


def wait_for_quiet(
    *,
    busy_below: float,
    max_wait_s: float,
    interval_s: float = 0.5,
    sample: Callable[[], cpu.MachineCpu] = cpu.machine_cpu,
) -> float:
    """Wait until the machine was less than ``busy_below`` busy (0 to 1) over ``interval_s``.

    Gives up after ``max_wait_s``; returns the last busy fraction seen (the caller goes on regardless).
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before = sample()
        time.sleep(interval_s)
        busy = sample().busy_fraction_since(before)
        if busy < busy_below or time.monotonic() >= deadline:
            return busy


@dataclass(kw_only=True)
class QuietRunner:
    """Runs a driver, and runs it again when other programs competed for the cores in its window.

    Before each attempt it waits up to ``quiet_wait_s`` for the machine to idle (the network under
    test idles at a few per cent). A run whose ``foreign_fraction`` exceeds ``max_foreign_fraction``
    is repeated (with a fresh ``run_id``) up to ``attempts`` times in all, while ``retry_budget``
    repetitions remain for the whole benchmark (so the total time stays bounded); the quietest
    attempt is kept.
    """

    max_foreign_fraction: float = 0.15
    attempts: int = 3
    retry_budget: int = 6
    quiet_wait_s: float = 0.0
    progress: Callable[[str], None] = field(default=lambda _: None)
    run: Callable[..., RunResult] = field(default=run_driver)

    def _attempt(self, client: ClientKind, config: LoadConfig, watched: Mapping[str, int]) -> RunResult:
        if self.quiet_wait_s > 0:
            wait_for_quiet(busy_below=self.max_foreign_fraction, max_wait_s=self.quiet_wait_s)
        return self.run(client, config, watched=watched)

    def __call__(self, client: ClientKind, config: LoadConfig, watched: Mapping[str, int]) -> RunResult:
        best = self._attempt(client, config, watched)
        attempt = 1
        while (
            best.foreign_fraction > self.max_foreign_fraction
            and attempt < self.attempts
            and self.retry_budget
        ):
            self.progress(
                f"{client} {config.mode} C={config.concurrency}: other programs used "
                f"{best.foreign_fraction:.0%} of the machine; running it again"
            )
            self.retry_budget -= 1
            again = self._attempt(client, replace(config, run_id=f"{config.run_id}-r{attempt}"), watched)
            attempt += 1
            if again.foreign_fraction < best.foreign_fraction:
                best = again
        return best
