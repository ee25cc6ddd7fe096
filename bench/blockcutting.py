"""The block-cutting suite: what the channel's batch timeout costs an interactive system.

The orderer cuts a block after ``batch_timeout`` or ``max_message_count`` transactions, whichever comes
first. At low load the timeout is what a submit waits for; at high load blocks fill before it expires.
For each timeout the suite brings up its own bench network (the timeout is channel configuration, so
each value needs a consortium file of its own) and measures, with fabrx's client on the fabrx Python
chaincode:

* submit latency p50/p95 (and throughput) at concurrency 1, the interactive case;
* submit throughput (and latency) at concurrency 32, where the 2-core machine is CPU-bound;
* for Fabric's sample value of 2 s, concurrency 1 only, briefly: it shows what the sample costs.

It takes about two minutes, so it is not part of the default ``make bench``; run it with
``python -m bench --suite blockcutting``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .load import LoadConfig
from .network import BenchNetwork
from .suites import RUN_OVERHEAD_S, Progress, Runner, detail

__all__ = ["BATCH_TIMEOUTS", "SAMPLE_TIMEOUT", "BlockCuttingPlan", "blockcutting_suite"]

BATCH_TIMEOUTS = ("20ms", "50ms", "100ms", "250ms")
SAMPLE_TIMEOUT = "2s"
# Bringing one bench network up and purging it again (measured 9 s up, 2 s down).
NETWORK_SECONDS = 12.0

OpenNetwork = Callable[[str], contextlib.AbstractContextManager[BenchNetwork]]


@dataclass(frozen=True, kw_only=True)
class BlockCuttingPlan:
    """Which timeouts, at which concurrencies, for how long.

    ``sample_timeout`` (``None`` to leave it out) is run at ``latency_concurrency`` only, over
    ``sample_duration_s``: each submit waits for the whole timeout, so a few are enough.
    """

    timeouts: tuple[str, ...] = BATCH_TIMEOUTS
    sample_timeout: str | None = SAMPLE_TIMEOUT
    latency_concurrency: int = 1
    throughput_concurrency: int = 32
    duration_s: float = 5.0
    warmup_s: float = 1.0
    sample_duration_s: float = 6.0
    chaincode: str = "fabrx"

    def __post_init__(self) -> None:
        if not self.timeouts and self.sample_timeout is None:
            raise ValueError("the block-cutting plan has no batch timeout to measure")

    @property
    def runs(self) -> int:
        """Driver runs of the suite."""
        return 2 * len(self.timeouts) + (1 if self.sample_timeout else 0)

    def estimated_seconds(self) -> float:
        """Wall time of the suite, networks included."""
        per_run = self.warmup_s + self.duration_s + RUN_OVERHEAD_S
        networks = len(self.timeouts) + (1 if self.sample_timeout else 0)
        sample = self.warmup_s + self.sample_duration_s + RUN_OVERHEAD_S if self.sample_timeout else 0.0
        return 2 * len(self.timeouts) * per_run + sample + networks * NETWORK_SECONDS


def _config(
    network: BenchNetwork, plan: BlockCuttingPlan, concurrency: int, duration_s: float, run_id: str
) -> LoadConfig:
    return network.load_config(
        plan.chaincode,
        mode="submit",
        concurrency=concurrency,
        duration_s=duration_s,
        warmup_s=plan.warmup_s,
        run_id=run_id,
    )


def blockcutting_suite(
    plan: BlockCuttingPlan,
    run: Runner,
    open_network: OpenNetwork,
    *,
    run_prefix: str,
    progress: Progress = lambda _: None,
) -> dict[str, Any]:
    """Measure every timeout of ``plan`` on a network of its own; return the ``blockcutting`` section.

    ``open_network(batch_timeout)`` brings up a bench network cutting blocks after that timeout and
    takes it down on exit. Figures per timeout: ``c1_p50_ms``, ``c1_p95_ms``, ``c1_tps`` and (not for
    the sample timeout) ``c32_tps``, ``c32_p50_ms``, ``c32_p95_ms`` (the ``1``/``32`` are the plan's
    concurrencies).

    Raises:
        BenchError: a network did not come up or a driver run failed.
    """
    figures: dict[str, dict[str, Any]] = {}
    details: list[dict[str, Any]] = []
    measured: list[tuple[str, tuple[int, ...]]] = [
        (t, (plan.latency_concurrency, plan.throughput_concurrency)) for t in plan.timeouts
    ]
    if plan.sample_timeout is not None:
        measured.append((plan.sample_timeout, (plan.latency_concurrency,)))
    for timeout, concurrencies in measured:
        duration = plan.duration_s if timeout in plan.timeouts else plan.sample_duration_s
        with open_network(timeout) as network:
            watched = network.watched(plan.chaincode)
            for concurrency in concurrencies:
                run_id = f"{run_prefix}-bc{timeout}-{concurrency}"
                result = run("fabrx", _config(network, plan, concurrency, duration, run_id), watched)
                latency = result.driver["latency_ms"]
                progress(
                    f"[batch timeout {timeout}] fabrx submit C={concurrency}: {result.tps} tps, "
                    f"p50 {latency['p50']} ms, p95 {latency['p95']} ms"
                )
                entry = figures.setdefault(timeout, {})
                entry[f"c{concurrency}_tps"] = result.tps
                entry[f"c{concurrency}_p50_ms"] = latency["p50"]
                entry[f"c{concurrency}_p95_ms"] = latency["p95"]
                details.append({**detail(result, chaincode=plan.chaincode), "batch_timeout": timeout})
    return {"blockcutting": figures, "details": {"blockcutting": details}}
