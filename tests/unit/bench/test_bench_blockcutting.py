from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from bench.blockcutting import BlockCuttingPlan, blockcutting_suite
from bench.load import LoadConfig
from bench.network import BenchChaincode, BenchNetwork
from bench.render_suites import render_blockcutting_section
from bench.runner import ClientKind, RunResult
from bench.suites import RUN_OVERHEAD_S

NETWORK = BenchNetwork(
    channel="benchchannel",
    peer_address="127.0.0.1:61066",
    tls_root_cert=Path("/ca.pem"),
    msp_id="RegulatorMSP",
    cert=Path("/cert.pem"),
    key=Path("/key.pem"),
    chaincodes={"fabrx": BenchChaincode(name="asset-py", contract="asset", pid=7)},
    processes={"gateway peer": 1},
)


class Recorder:
    """Stands in for the runner and the network bring-up; latency grows with the open timeout."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.calls: list[tuple[ClientKind, LoadConfig, Mapping[str, int]]] = []

    @contextlib.contextmanager
    def open_network(self, timeout: str) -> Iterator[BenchNetwork]:
        self.opened.append(timeout)
        yield NETWORK

    def __call__(self, client: ClientKind, config: LoadConfig, watched: Mapping[str, int]) -> RunResult:
        self.calls.append((client, config, watched))
        p50 = 10.0 * len(self.opened)
        driver: dict[str, Any] = {
            "mode": config.mode,
            "concurrency": config.concurrency,
            "count": 100,
            "errors": 0,
            "first_error": None,
            "elapsed_s": 1.0,
            "tps": 100.0 * config.concurrency,
            "latency_ms": {"p50": p50, "p95": 2 * p50},
            "cpu_ms": {"total": 50.0},
            "cpu_ms_per_tx": 0.5,
        }
        return RunResult(
            client=client, driver=driver, server_cpu_ms={}, driver_cpu_ms_proc=50.0, machine_busy=0.5
        )


def test_each_timeout_gets_its_own_network_and_the_sample_runs_at_c1_only() -> None:
    recorder = Recorder()
    plan = BlockCuttingPlan(timeouts=("20ms", "250ms"), sample_timeout="2s")
    sections = blockcutting_suite(plan, recorder, recorder.open_network, run_prefix="t")
    assert recorder.opened == ["20ms", "250ms", "2s"]
    assert [(c.concurrency, c.mode, client) for client, c, _ in recorder.calls] == [
        (1, "submit", "fabrx"),
        (32, "submit", "fabrx"),
        (1, "submit", "fabrx"),
        (32, "submit", "fabrx"),
        (1, "submit", "fabrx"),
    ]
    assert recorder.calls[-1][1].duration_s == plan.sample_duration_s
    assert len({config.run_id for _, config, _ in recorder.calls}) == 5
    figures = sections["blockcutting"]
    assert figures["250ms"] == {
        "c1_tps": 100.0,
        "c1_p50_ms": 20.0,
        "c1_p95_ms": 40.0,
        "c32_tps": 3200.0,
        "c32_p50_ms": 20.0,
        "c32_p95_ms": 40.0,
    }
    assert set(figures["2s"]) == {"c1_tps", "c1_p50_ms", "c1_p95_ms"}
    assert [d["batch_timeout"] for d in sections["details"]["blockcutting"]] == [
        "20ms",
        "20ms",
        "250ms",
        "250ms",
        "2s",
    ]


def test_plan_counts_runs_and_time_with_networks() -> None:
    plan = BlockCuttingPlan(timeouts=("20ms",), sample_timeout=None, duration_s=5.0, warmup_s=1.0)
    assert plan.runs == 2
    assert plan.estimated_seconds() == pytest.approx(2 * (1.0 + 5.0 + RUN_OVERHEAD_S) + 12.0)


def test_plan_refuses_to_measure_nothing() -> None:
    with pytest.raises(ValueError):
        BlockCuttingPlan(timeouts=(), sample_timeout=None)


def test_section_has_one_row_per_timeout() -> None:
    figures = {
        "20ms": {"c1_p50_ms": 30.1, "c1_p95_ms": 40.2, "c1_tps": 31.0, "c32_tps": 290.0, "c32_p50_ms": 100.0}
    }
    meta = {
        "command": "python -m bench --suite blockcutting",
        "date": "2026-11-25 22:00 UTC",
        "machine": {"nproc": 2, "cpu_model": "x", "memory_gib": 1.0, "kernel": "6"},
        "network": "bench",
        "latency_concurrency": 1,
        "throughput_concurrency": 32,
        "duration_s": 5.0,
        "warmup_s": 1.0,
        "sample_duration_s": 6.0,
    }
    text = render_blockcutting_section(figures, meta)
    assert "| 20ms | 30.1 | 40.2 | 31.0 | 290.0 | 100.0 |" in text
