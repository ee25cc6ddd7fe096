from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from bench import cpu, runner
from bench.load import LoadConfig
from bench.runner import BenchError, run_driver, wait_for_quiet

CONFIG = LoadConfig(
    peer_address="p", tls_root_cert_path="c", msp_id="m", cert_path="c", key_path="k", channel="ch",
    chaincode="cc", mode="submit", concurrency=2, run_id="r", duration_s=0.1, warmup_s=0.0,
)  # fmt: skip

RESULT = {
    "event": "result", "client": "fabrx", "mode": "submit", "concurrency": 2, "count": 4, "errors": 0,
    "first_error": None, "elapsed_s": 0.1, "tps": 40.0, "latency_ms": {"p50": 1.0, "p95": 2.0},
    "cpu_ms": {"total": 5.0}, "cpu_ms_per_tx": 1.25,
}  # fmt: skip


def _fake_driver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: str) -> None:
    """Make run_driver start ``body`` (Python) instead of a real driver; it gets the config path."""
    script = tmp_path / "driver.py"
    script.write_text(body)
    monkeypatch.setattr(
        runner, "driver_command", lambda client, path: [sys.executable, str(script), str(path)]
    )


def test_run_driver_samples_the_watched_processes_at_the_window_edges(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_driver(
        monkeypatch,
        tmp_path,
        "import json, sys, time\n"
        "config = json.load(open(sys.argv[1]))\n"
        "assert config['run_id'] == 'r'\n"
        "print(json.dumps({'event': 'window_start'}), flush=True)\n"
        "end = time.process_time() + 0.1\n"
        "while time.process_time() < end: pass\n"  # burn 100 ms of CPU inside the window
        "print(json.dumps({'event': 'window_end'}), flush=True)\n"
        f"print({json.dumps(json.dumps(RESULT))})\n",
    )

    result = run_driver("fabrx", CONFIG, watched={"me": os.getpid()})

    assert result.driver["tps"] == 40.0
    assert set(result.server_cpu_ms) == {"me"}
    assert result.driver_cpu_ms_proc >= 1000 / cpu.clock_ticks() * 5, "the driver's own busy loop is seen"
    assert 0.0 <= result.machine_busy <= 1.0
    assert result.per_transaction(100.0) == 25.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("import sys\nsys.stderr.write('cannot connect to peer')\nsys.exit(1)\n", "cannot connect to peer"),
        ("print('hello')\n", "outside the protocol"),
    ],
)
def test_run_driver_reports_a_broken_driver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: str, message: str
) -> None:
    _fake_driver(monkeypatch, tmp_path, body)
    with pytest.raises(BenchError, match=message):
        run_driver("fabrx", CONFIG, watched={})


def test_run_driver_refuses_a_run_where_every_transaction_failed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    failed = {**RESULT, "count": 0, "errors": 7, "first_error": "EndorseError: no such chaincode"}
    _fake_driver(
        monkeypatch,
        tmp_path,
        "import json\n"
        "print(json.dumps({'event': 'window_start'}))\n"
        "print(json.dumps({'event': 'window_end'}))\n"
        f"print({json.dumps(json.dumps(failed))})\n",
    )
    with pytest.raises(BenchError, match="every transaction failed, the first with EndorseError"):
        run_driver("fabrx", CONFIG, watched={})


def test_wait_for_quiet_returns_once_the_machine_idles() -> None:
    samples = iter(
        [cpu.MachineCpu(0, 0), cpu.MachineCpu(90, 10), cpu.MachineCpu(90, 10), cpu.MachineCpu(95, 105)]
    )
    busy = wait_for_quiet(busy_below=0.1, max_wait_s=5.0, interval_s=0.0, sample=lambda: next(samples))
    assert busy == pytest.approx(0.05)


def test_wait_for_quiet_gives_up_after_its_limit() -> None:
    counter = iter(range(0, 10**6, 10))
    busy = wait_for_quiet(
        busy_below=0.1, max_wait_s=0.0, interval_s=0.0, sample=lambda: cpu.MachineCpu(next(counter), 0)
    )
    assert busy == 1.0
