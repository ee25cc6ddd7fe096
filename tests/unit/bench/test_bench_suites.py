from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from bench.load import LoadConfig
from bench.network import BenchNetwork, load_network
from bench.render import render_chaincode_section, render_client_section
from bench.runner import ClientKind, QuietRunner, RunResult
from bench.suites import Plan, chaincode_suite, client_suite, median_run

NETWORK_JSON = {
    "description": "test network",
    "channel": "benchchannel",
    "gateway": {"address": "127.0.0.1:27051", "tls_root_cert": "tls/ca.pem", "server_name": "peer0"},
    "client": {"msp_id": "Org1MSP", "cert": "/abs/cert.pem", "key": "key.pem"},
    "chaincodes": {
        "node": {"name": "asset", "contract": "asset", "pid": 300},
        "fabrx": {"name": "asset_py", "pid": 301},
    },
    "processes": {"gateway peer": 100, "other peer": 101, "orderer": 102},
    "fabric_bin": "/opt/fabric/bin",
}


@pytest.fixture
def network(tmp_path: Path) -> BenchNetwork:
    path = tmp_path / "network.json"
    path.write_text(json.dumps(NETWORK_JSON))
    return load_network(path)


def test_load_network_resolves_relative_paths_against_its_folder(
    tmp_path: Path, network: BenchNetwork
) -> None:
    assert network.tls_root_cert == tmp_path / "tls" / "ca.pem"
    assert network.cert == Path("/abs/cert.pem")
    assert network.key == tmp_path / "key.pem"
    assert network.chaincodes["fabrx"].contract is None
    assert network.watched("fabrx") == {
        "gateway peer": 100,
        "other peer": 101,
        "orderer": 102,
        "chaincode": 301,
    }


def test_load_network_names_a_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "network.json"
    path.write_text(json.dumps({k: v for k, v in NETWORK_JSON.items() if k != "gateway"}))
    with pytest.raises(ValueError, match="lacks 'gateway'"):
        load_network(path)


class FakeRunner:
    """Answers every run with figures derived from its config; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[ClientKind, LoadConfig, Mapping[str, int]]] = []

    def __call__(self, client: ClientKind, config: LoadConfig, watched: Mapping[str, int]) -> RunResult:
        self.calls.append((client, config, watched))
        count = 10 * config.concurrency
        driver: dict[str, Any] = {
            "mode": config.mode,
            "concurrency": config.concurrency,
            "count": count,
            "errors": 0,
            "first_error": None,
            "elapsed_s": 1.0,
            "tps": float(count),
            "latency_ms": {"p50": 1.5, "p95": 3.0, "mean": 2.0, "max": 4.0},
            "cpu_ms": {"user": 80.0, "system": 20.0, "total": 100.0},
            "cpu_ms_per_tx": round(100.0 / count, 3),
        }
        return RunResult(
            client=client,
            driver=driver,
            server_cpu_ms={name: 50.0 for name in watched},
            driver_cpu_ms_proc=100.0,
            machine_busy=0.9,
        )


def test_client_suite_fills_the_results_shape_of_issue_5(network: BenchNetwork) -> None:
    runner = FakeRunner()
    plan = Plan(concurrencies=(1, 8, 32, 128))

    sections = client_suite(network, plan, runner, run_prefix="benchX")

    # Three rounds per client at every concurrency: 3 x 4 x 3 clients x 2 modes.
    assert len(runner.calls) == plan.runs("client") == 72
    for mode in ("submit", "evaluate"):
        assert sections[mode] == {
            client: {"1": 10.0, "8": 80.0, "32": 320.0, "128": 1280.0}
            for client in ("fabrx", "node", "node_openssl")
        }
        assert sections["latency_ms"][mode]["node"]["128"] == {"p50": 1.5, "p95": 3.0}
    assert sections["client_cpu_ms_per_submit"] == {"fabrx": 0.078, "node": 0.078, "node_openssl": 0.078}
    assert sections["server_cpu_ms_per_submit"]["fabrx"]["chaincode"] == round(50.0 / 1280, 3)
    assert len(sections["details"]["client"]) == 72


def test_client_suite_interleaves_clients_and_gives_every_run_its_own_ids(network: BenchNetwork) -> None:
    runner = FakeRunner()
    client_suite(network, Plan(concurrencies=(1, 128)), runner, run_prefix="benchX")

    order = [(config.mode, config.concurrency, client) for client, config, _ in runner.calls]
    assert order[:3] == [("submit", 1, "fabrx"), ("submit", 1, "node"), ("submit", 1, "node_openssl")]
    assert len({config.run_id for _, config, _ in runner.calls}) == len(runner.calls)
    signers = {client: config.signer for client, config, _ in runner.calls}
    assert signers == {"fabrx": "default", "node": "default", "node_openssl": "openssl"}
    assert all(config.chaincode == "asset" and config.contract == "asset" for _, config, _ in runner.calls)


def test_chaincode_suite_charges_the_chaincode_server_of_each_runtime(network: BenchNetwork) -> None:
    runner = FakeRunner()
    sections = chaincode_suite(network, Plan(), runner, run_prefix="benchX")

    assert {config.chaincode for _, config, _ in runner.calls} == {"asset", "asset_py"}
    assert {watched["chaincode"] for _, _, watched in runner.calls} == {300, 301}
    assert all(client == "node_openssl" and config.concurrency == 128 for client, config, _ in runner.calls)
    for name in ("fabrx", "node"):
        figures = sections["chaincode"][name]
        assert figures["cpu_ms_per_submit"] == round(50.0 / 1280, 3)
        assert figures["cpu_ms_per_evaluate"] == round(50.0 / 1280, 3)
        assert figures["evaluate_tps_c128"] == 1280.0


def test_chaincode_suite_skips_a_chaincode_the_network_lacks(network: BenchNetwork) -> None:
    messages: list[str] = []
    plan = Plan(chaincodes=("python", "node"))
    sections = chaincode_suite(network, plan, FakeRunner(), run_prefix="b", progress=messages.append)
    assert list(sections["chaincode"]) == ["node"]
    assert messages[0] == "chaincode suite: skipping python: the network has no such chaincode server"
    assert not any("python" in message for message in messages[1:])


def test_plan_estimate_fits_the_ten_minute_budget() -> None:
    plan = Plan()
    assert plan.runs("client") + plan.runs("chaincode") == 76
    assert plan.estimated_seconds(("client", "chaincode")) < 9 * 60


class DriftingRunner(FakeRunner):
    """Each client's throughput drifts from round to round, as on a shared machine."""

    def __init__(self, rates: dict[str, list[float]]) -> None:
        super().__init__()
        self._rates = {client: iter(values) for client, values in rates.items()}

    def __call__(self, client: ClientKind, config: LoadConfig, watched: Mapping[str, int]) -> RunResult:
        result = super().__call__(client, config, watched)
        driver = {**result.driver, "tps": next(self._rates[client])}
        return dataclasses.replace(result, driver=driver)


def test_latency_bound_runs_take_turns_in_rounds_and_report_the_median_round(network: BenchNetwork) -> None:
    plan = Plan(clients=("fabrx", "node_openssl"), concurrencies=(1,), duration_s=9.0, rounds=3)
    runner = DriftingRunner({"fabrx": [500.0, 330.0, 400.0] * 2, "node_openssl": [480.0, 320.0, 420.0] * 2})

    sections = client_suite(network, plan, runner, run_prefix="benchX")

    submits = [(client, config.duration_s) for client, config, _ in runner.calls if config.mode == "submit"]
    # Each round starts with the next client; each window is a third of the run's.
    assert [client for client, _ in submits] == [
        "fabrx",
        "node_openssl",
        "node_openssl",
        "fabrx",
        "fabrx",
        "node_openssl",
    ]
    assert {duration for _, duration in submits} == {3.0}
    assert sections["submit"] == {"fabrx": {"1": 400.0}, "node_openssl": {"1": 420.0}}
    assert len(sections["details"]["client"]) == 12


def test_median_run_takes_the_lower_middle_of_an_even_number() -> None:
    runs = [_result(0.0) for _ in range(4)]
    for run, tps in zip(runs, (4.0, 1.0, 3.0, 2.0), strict=True):
        run.driver["tps"] = tps  # type: ignore[index]
    assert median_run(runs).tps == 2.0


def _result(foreign_ms: float) -> RunResult:
    driver = {"elapsed_s": 1.0, "count": 10, "tps": 10.0}
    return RunResult(
        client="fabrx", driver=driver, server_cpu_ms={}, driver_cpu_ms_proc=0.0, machine_busy=1.0,
        foreign_cpu_ms=foreign_ms,
    )  # fmt: skip


def test_quiet_runner_reruns_a_disturbed_run_and_keeps_the_quietest(network: BenchNetwork) -> None:
    ncpu_ms = 1000.0 * (os.cpu_count() or 1)
    answers = [_result(0.9 * ncpu_ms), _result(0.5 * ncpu_ms), _result(0.7 * ncpu_ms)]
    run_ids: list[str] = []

    def run(client: ClientKind, config: LoadConfig, *, watched: Mapping[str, int]) -> RunResult:
        run_ids.append(config.run_id)
        return answers.pop(0)

    quiet = QuietRunner(max_foreign_fraction=0.1, attempts=3, retry_budget=5, run=run)
    config = LoadConfig(
        peer_address="p", tls_root_cert_path="c", msp_id="m", cert_path="c", key_path="k", channel="ch",
        chaincode="cc", mode="submit", concurrency=1, run_id="r", count=1,
    )  # fmt: skip
    kept = quiet("fabrx", config, {})

    assert kept.foreign_cpu_ms == 0.5 * ncpu_ms
    assert run_ids == ["r", "r-r1", "r-r2"]
    assert quiet.retry_budget == 3


def test_rendered_sections_show_figures_and_provenance(network: BenchNetwork) -> None:
    runner = FakeRunner()
    plan = Plan(concurrencies=(1, 128))
    meta = {
        "command": "python -m bench",
        "date": "2026-11-25 12:00 UTC",
        "machine": {"nproc": 2, "cpu_model": "CPU", "memory_gib": 23.5, "kernel": "6.1", "python": "3.11.7"},
        "network": "test network",
        "duration_s": 8.0,
        "warmup_s": 2.0,
        "concurrencies": [1, 128],
        "rounds": 3,
        "chaincode": "node",
        "client": "node_openssl",
    }
    client_md = render_client_section(client_suite(network, plan, runner, run_prefix="b"), meta)
    assert "`python -m bench`" in client_md and "2 × CPU" in client_md
    assert "Each figure: the median of 3 windows of 2.7 s, each after 2.0 s of warmup" in client_md
    assert "| fabrx (Python, `fabrx.aio`) | 10 (1.5 / 3.0) | 1,280 (1.5 / 3.0) | 0.08 |" in client_md
    chaincode_md = render_chaincode_section(chaincode_suite(network, plan, runner, run_prefix="b"), meta)
    assert "| Node `fabric-contract-api` | 0.039 | 0.039 | 1,280 | 1,280 |" in chaincode_md
