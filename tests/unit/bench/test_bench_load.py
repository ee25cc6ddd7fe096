from __future__ import annotations

import asyncio
import json

import pytest
from bench.load import LoadConfig, asset_args, closed_loop, result_record

BASE = {
    "peer_address": "127.0.0.1:7051",
    "tls_root_cert_path": "/ca.pem",
    "msp_id": "Org1MSP",
    "cert_path": "/cert.pem",
    "key_path": "/key.pem",
    "channel": "mychannel",
    "chaincode": "asset",
    "mode": "submit",
    "concurrency": 8,
    "run_id": "r1",
}


def test_load_config_round_trips_through_the_json_both_drivers_read() -> None:
    config = LoadConfig(**BASE, duration_s=3.0)  # type: ignore[arg-type]
    document = json.loads(config.to_json())
    assert document["duration_s"] == 3.0
    assert "count" not in document, "unset fields are left out for the Node driver"
    assert LoadConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_s": 1.0, "count": 10}, "exactly one of duration_s and count"),
        ({}, "exactly one of duration_s and count"),
        ({"count": 10, "mode": "delete"}, "mode must be"),
        ({"count": 10, "concurrency": 0}, "concurrency must be at least 1"),
    ],
)
def test_load_config_rejects_inconsistent_settings(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadConfig(**{**BASE, **changes})  # type: ignore[arg-type]


def test_load_config_from_json_names_an_unknown_field() -> None:
    with pytest.raises(ValueError, match="colour"):
        LoadConfig.from_json(json.dumps({**BASE, "count": 1, "colour": "blue"}))


def test_asset_is_about_a_hundred_bytes_of_json() -> None:
    asset_id, color, size, owner, value = asset_args("bench18c-fabrx-submit-128-127-4096")
    stored = json.dumps(
        {"ID": asset_id, "Color": color, "Size": int(size), "Owner": owner, "AppraisedValue": int(value)}
    )
    assert 80 <= len(stored) <= 130


def test_closed_loop_keeps_each_worker_busy_and_counts_the_window_only() -> None:
    calls: list[tuple[int, int]] = []
    marks: list[str] = []

    async def operation(worker: int, sequence: int) -> None:
        calls.append((worker, sequence))
        await asyncio.sleep(0.01)

    outcome = asyncio.run(
        closed_loop(
            operation,
            concurrency=4,
            duration_s=0.2,
            warmup_s=0.05,
            on_window_start=lambda: marks.append("start"),
            on_window_end=lambda: marks.append("end"),
        )
    )

    assert marks == ["start", "end"]
    # The window is measured, not the warmup; a loaded machine only makes it end late, never early.
    assert 0.19 <= outcome.elapsed_s < 5.0
    # 4 workers x ~20 completions of 10 ms each in 0.2 s, fewer than all calls (warmup excluded)
    assert 40 <= len(outcome.latencies_ms) < len(calls)
    assert all(latency >= 9.0 for latency in outcome.latencies_ms)
    assert {worker for worker, _ in calls} == {0, 1, 2, 3}
    sequences = sorted(sequence for worker, sequence in calls if worker == 0)
    assert sequences == list(range(len(sequences))), "each worker numbers its transactions 0, 1, 2..."


def test_closed_loop_in_count_mode_stops_at_the_count_and_counts_failures() -> None:
    async def operation(worker: int, sequence: int) -> None:
        await asyncio.sleep(0.001)
        if sequence % 2:
            raise RuntimeError("endorsement failed")

    outcome = asyncio.run(closed_loop(operation, concurrency=2, count=20))

    assert len(outcome.latencies_ms) == 20
    assert outcome.errors >= 18
    assert outcome.first_error == "RuntimeError: endorsement failed"


def test_result_record_has_the_fields_of_the_node_driver() -> None:
    config = LoadConfig(**BASE, duration_s=2.0)  # type: ignore[arg-type]
    outcome = asyncio.run(closed_loop(lambda w, s: asyncio.sleep(0.01), concurrency=2, count=10))
    record = result_record("fabrx", config, outcome, user_s=0.05, system_s=0.01)
    assert set(record) == {
        "event", "client", "mode", "concurrency", "count", "errors", "first_error",
        "elapsed_s", "tps", "latency_ms", "cpu_ms", "cpu_ms_per_tx",
    }  # fmt: skip
    assert record["count"] == 10
    assert record["cpu_ms"] == {"user": 50.0, "system": 10.0, "total": 60.0}
    assert record["cpu_ms_per_tx"] == 6.0
    assert record["tps"] == pytest.approx(10 / outcome.elapsed_s, rel=0.01)
