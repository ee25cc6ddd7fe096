"""The benchmark suites: which driver runs they make and how their figures become results sections.

* ``client``: submit and evaluate throughput and latency of each client (fabrx's Gateway
  client, the official Node client with its default signer and with an OpenSSL signer) at each
  concurrency, against one chaincode; client and server CPU per transaction at the highest concurrency.
* ``chaincode``: the same workload at the highest concurrency, through one client, against
  each chaincode runtime (fabrx's Python runtime, the Node contract API); chaincode server CPU per
  submitted and per evaluated transaction and evaluate throughput.

Runs are interleaved (every client at one concurrency before the next concurrency) so that slow drift
of the machine or the growing ledger does not favour one client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .load import LoadConfig, Mode
from .network import BenchNetwork
from .runner import CLIENTS, ClientKind, RunResult

__all__ = ["MODES", "Plan", "Runner", "chaincode_suite", "client_suite", "median_run", "new_run_prefix"]

MODES: tuple[Mode, ...] = ("submit", "evaluate")
# Seconds a run costs beyond warmup and window: driver start-up, seeding, draining the workers (measured
# about 0.3 s for the Python and Node drivers on the 2-core machine; counted generously).
RUN_OVERHEAD_S = 1.0

Runner = Callable[[ClientKind, LoadConfig, Mapping[str, int]], RunResult]
Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What the suites run: clients, concurrencies, window lengths and the chaincode pairings.

    ``client_chaincode`` is the chaincode the client suite loads; ``chaincode_client`` the client the
    chaincode suite drives every chaincode with.
    """

    clients: tuple[ClientKind, ...] = CLIENTS
    concurrencies: tuple[int, ...] = (1, 8, 32, 128)
    duration_s: float = 7.0
    warmup_s: float = 1.5
    rounds: int = 3
    """The clients take turns in this many rounds at each (mode, concurrency), each with a
    ``duration_s / rounds`` window, and the median round counts: this machine's speed drifts by tens of
    percent within a minute (one client measured 320 to 510 evaluates/s at C=1 in consecutive 4 s
    windows, and one client's single window at C=128 came out 25 % low while its CPU per transaction
    nearly doubled), more than the differences being measured."""
    client_chaincode: str = "node"
    chaincodes: tuple[str, ...] = ("fabrx", "node")
    chaincode_client: ClientKind = "node_openssl"

    def __post_init__(self) -> None:
        unknown = [c for c in (*self.clients, self.chaincode_client) if c not in CLIENTS]
        if unknown:
            raise ValueError(f"unknown clients {unknown}: choose from {', '.join(CLIENTS)}")
        if not self.concurrencies or min(self.concurrencies) < 1:
            raise ValueError(f"concurrencies must be positive, got {self.concurrencies}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {self.rounds}")

    @property
    def top_concurrency(self) -> int:
        """The concurrency at which CPU per transaction is reported."""
        return max(self.concurrencies)

    def runs(self, suite: str) -> int:
        """How many driver runs ``suite`` makes."""
        if suite == "client":
            return len(self.clients) * len(MODES) * len(self.concurrencies) * self.rounds
        return len(self.chaincodes) * len(MODES)

    def estimated_seconds(self, suites: tuple[str, ...]) -> float:
        """Wall time the suites should take, network set-up excluded."""
        client_run = self.warmup_s + self.duration_s / self.rounds + RUN_OVERHEAD_S
        other_run = self.warmup_s + self.duration_s + RUN_OVERHEAD_S
        return sum(self.runs(s) * (client_run if s == "client" else other_run) for s in suites)


def new_run_prefix() -> str:
    """A prefix for ``CreateAsset`` ids that no earlier benchmark on the same ledger used."""
    return f"bench{time.time_ns() // 1_000_000:x}"


def _config(
    network: BenchNetwork,
    plan: Plan,
    client: ClientKind,
    chaincode: str,
    mode: Mode,
    concurrency: int,
    run_id: str,
    duration_s: float | None = None,
) -> LoadConfig:
    return network.load_config(
        chaincode,
        signer="openssl" if client == "node_openssl" else "default",
        mode=mode,
        concurrency=concurrency,
        duration_s=plan.duration_s if duration_s is None else duration_s,
        warmup_s=plan.warmup_s,
        run_id=run_id,
    )


def detail(result: RunResult, *, chaincode: str) -> dict[str, Any]:
    """The record of one run kept in ``results.json`` for later scrutiny."""
    driver = result.driver
    return {
        "client": result.client,
        "chaincode": chaincode,
        "mode": driver["mode"],
        "concurrency": driver["concurrency"],
        "count": driver["count"],
        "errors": driver["errors"],
        "first_error": driver["first_error"],
        "tps": driver["tps"],
        "latency_ms": driver["latency_ms"],
        "client_cpu_ms": driver["cpu_ms"]["total"],
        "client_cpu_ms_proc": result.driver_cpu_ms_proc,
        "server_cpu_ms": dict(result.server_cpu_ms),
        "machine_busy": result.machine_busy,
        "foreign_cpu_ms": result.foreign_cpu_ms,
        "foreign_fraction": round(result.foreign_fraction, 3),
    }


def _describe(result: RunResult) -> str:
    driver = result.driver
    errors = f", {driver['errors']} errors ({driver['first_error']})" if driver["errors"] else ""
    return (
        f"{result.client} {driver['mode']} C={driver['concurrency']}: {driver['tps']} tps, "
        f"p50 {driver['latency_ms']['p50']} ms, client {driver['cpu_ms_per_tx']} ms/tx, "
        f"machine {result.machine_busy:.0%} busy ({result.foreign_fraction:.0%} foreign){errors}"
    )


def median_run(results: list[RunResult]) -> RunResult:
    """The run with the median throughput (the lower middle one of an even number)."""
    ordered = sorted(results, key=lambda r: r.tps)
    return ordered[(len(ordered) - 1) // 2]


def client_suite(
    network: BenchNetwork, plan: Plan, run: Runner, *, run_prefix: str, progress: Progress = lambda _: None
) -> dict[str, Any]:
    """Run every client at every concurrency in both modes; return the results sections.

    Raises:
        BenchError: a driver run failed.
    """
    watched = network.watched(plan.client_chaincode)
    sections: dict[str, Any] = {mode: {client: {} for client in plan.clients} for mode in MODES}
    latency: dict[str, Any] = {mode: {client: {} for client in plan.clients} for mode in MODES}
    details: list[dict[str, Any]] = []
    for mode in MODES:
        for concurrency in plan.concurrencies:
            rounds = plan.rounds
            runs: dict[ClientKind, list[RunResult]] = {client: [] for client in plan.clients}
            for round_ in range(rounds):
                # Each round starts with the next client, so none always runs first or last.
                order = (
                    plan.clients[round_ % len(plan.clients) :] + plan.clients[: round_ % len(plan.clients)]
                )
                for client in order:
                    run_id = f"{run_prefix}-{client}-{mode}-{concurrency}-{round_}"
                    config = _config(
                        network,
                        plan,
                        client,
                        plan.client_chaincode,
                        mode,
                        concurrency,
                        run_id,
                        duration_s=plan.duration_s / rounds,
                    )
                    result = run(client, config, watched)
                    progress(f"{_describe(result)} (round {round_ + 1}/{rounds})")
                    runs[client].append(result)
                    details.append(detail(result, chaincode=plan.client_chaincode))
            for client, results in runs.items():
                result = median_run(results)
                key = str(concurrency)
                sections[mode][client][key] = result.tps
                latency[mode][client][key] = {
                    "p50": result.driver["latency_ms"]["p50"],
                    "p95": result.driver["latency_ms"]["p95"],
                }
                if concurrency == plan.top_concurrency:
                    per_tx = result.driver["cpu_ms_per_tx"]
                    sections.setdefault(f"client_cpu_ms_per_{mode}", {})[client] = per_tx
                    sections.setdefault(f"server_cpu_ms_per_{mode}", {})[client] = {
                        name: result.per_transaction(ms) for name, ms in result.server_cpu_ms.items()
                    }
    sections["latency_ms"] = latency
    sections["details"] = {"client": details}
    return sections


def chaincode_suite(
    network: BenchNetwork, plan: Plan, run: Runner, *, run_prefix: str, progress: Progress = lambda _: None
) -> dict[str, Any]:
    """Drive each chaincode with one client at the top concurrency; return the ``chaincode`` section.

    Chaincodes the network does not have (or whose server pid it does not give) are skipped, with a
    progress message.

    Raises:
        BenchError: a driver run failed.
    """
    chaincodes = []
    for name in plan.chaincodes:
        spec = network.chaincodes.get(name)
        if spec is None or spec.pid is None:
            progress(f"chaincode suite: skipping {name}: the network has no such chaincode server")
        else:
            chaincodes.append(name)
    top = plan.top_concurrency
    figures: dict[str, dict[str, Any]] = {
        name: {"client": plan.chaincode_client, "concurrency": top} for name in chaincodes
    }
    details: list[dict[str, Any]] = []
    for mode in MODES:
        for name in chaincodes:
            run_id = f"{run_prefix}-cc-{name}-{mode}"
            config = _config(network, plan, plan.chaincode_client, name, mode, top, run_id)
            result = run(plan.chaincode_client, config, network.watched(name))
            progress(f"[{name} chaincode] {_describe(result)}")
            figures[name][f"cpu_ms_per_{mode}"] = result.per_transaction(result.server_cpu_ms["chaincode"])
            figures[name][f"{mode}_tps_c{top}"] = result.tps
            details.append(detail(result, chaincode=name))
    return {"chaincode": figures, "details": {"chaincode": details}}
