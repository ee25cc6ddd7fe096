"""The service suite's figures and its section of docs/benchmarks.md, from made-up windows."""

from __future__ import annotations

import pytest
from bench.__main__ import DEFAULT_SUITES, _parse_args, estimate_seconds
from bench.load import LoopOutcome
from bench.render_suites import render_service_section
from bench.service import ServicePlan, Window, service_figures


def _window(mode: str, path: str, concurrency: int, round_: int, count: int, latency_ms: float) -> Window:
    outcome = LoopOutcome()
    outcome.latencies_ms = [latency_ms] * count
    outcome.elapsed_s = 10.0
    return Window(mode, path, concurrency, round_, outcome, {"service DistributorA": 1.0}, 0.25)  # type: ignore[arg-type]


def _windows() -> list[Window]:
    windows = []
    # Three rounds each; the middle rate and the middle p50 count.
    for round_, (sdk, service) in enumerate(((200, 180), (220, 150), (180, 190))):
        windows.append(_window("submit", "sdk", 32, round_, sdk, 300.0))
        windows.append(_window("submit", "service", 32, round_, service, 320.0))
        windows.append(_window("verify", "sdk", 32, round_, 2 * sdk, 100.0))
        windows.append(_window("verify", "service", 32, round_, 2 * sdk, 104.0))
    for round_, (sdk_ms, service_ms) in enumerate(((150.0, 158.0), (140.0, 141.0), (160.0, 170.0))):
        windows.append(_window("submit", "sdk", 1, round_, 60, sdk_ms))
        windows.append(_window("submit", "service", 1, round_, 55, service_ms))
        windows.append(_window("verify", "sdk", 1, round_, 100, sdk_ms / 5))
        windows.append(_window("verify", "service", 1, round_, 90, sdk_ms / 5 + 2.5))
    return windows


def test_ratios_are_median_rates_and_the_overhead_the_larger_p50_difference() -> None:
    figures = service_figures(_windows(), concurrency=32, latency_concurrency=1)
    assert figures["rates"]["submit"]["sdk"]["c32"]["tps"] == 20.0
    assert figures["rates"]["submit"]["service"]["c32"]["tps"] == 18.0
    assert figures["submit_ratio_c32"] == 0.9
    assert figures["verify_ratio_c32"] == 1.0
    assert figures["p50_overhead_ms_by_mode"] == {"submit": 8.0, "verify": 2.5}
    assert figures["p50_overhead_ms"] == 8.0
    assert figures["p50_overhead_ms_c32"] == {"submit": 20.0, "verify": 4.0}
    assert figures["foreign_fraction_max"] == 0.25
    assert figures["cpu_ms_per_tx"]["submit"]["service"] == {"service DistributorA": 5.56}


def test_a_missing_window_is_named() -> None:
    windows = [
        w for w in _windows() if not (w.mode == "verify" and w.path == "service" and w.concurrency == 1)
    ]
    with pytest.raises(ValueError, match="no verify window through the service at C=1"):
        service_figures(windows, concurrency=32, latency_concurrency=1)


def test_the_section_states_goals_met_and_missed_and_the_shared_machine() -> None:
    figures = service_figures(_windows(), concurrency=32, latency_concurrency=1)
    meta = {
        "command": "python -m bench --suite service",
        "date": "2026-12-05 08:00 UTC",
        "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "memory_gib": 23.5, "kernel": "6.18"},
        "network": "network/consortium.yaml",
        "method": "the method",
    }
    text = render_service_section(figures, meta)
    assert "| submits/s, service / SDK at C=32 | 0.9 | ≥ 0.9 | met |" in text
    assert "| 8.0 ms | ≤ 5.0 ms | **missed** |" in text
    assert "The machine was shared" in text and "25%" in text


def test_the_plan_is_checked_and_the_suite_is_part_of_make_bench() -> None:
    with pytest.raises(ValueError, match="concurrencies"):
        ServicePlan(concurrency=1, latency_concurrency=8)
    assert ServicePlan().windows() == 24
    assert "service" in DEFAULT_SUITES
    args = _parse_args(["--suite", "service"])
    assert estimate_seconds(args, ("service",)) == ServicePlan().estimated_seconds()
