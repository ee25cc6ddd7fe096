"""The closed-loop load driver on fabrx's own Gateway client, and the config both drivers read.

Run as its own process so the orchestrator can charge its CPU to the client alone::

    python -m bench.load CONFIG.json        # or the JSON on standard input

``concurrency`` workers (asyncio tasks over one ``fabrx.aio`` Gateway and one gRPC channel) each send
the next transaction as soon as the previous one returns. After ``warmup_s`` the measured window opens;
it closes after ``duration_s`` seconds or ``count`` completions. Standard output carries exactly the
lines of the protocol shared with ``tests/interop/bench-client.js``::

    {"event": "window_start"}
    {"event": "window_end"}
    {"event": "result", "count": ..., "tps": ..., "latency_ms": {...}, "cpu_ms": {...}, ...}

A completion counts when it falls inside the window, whenever it started, so the transactions in
flight at the window's edges are neither lost nor counted twice.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .stats import summarize_latencies

__all__ = ["LoadConfig", "LoopOutcome", "asset_args", "closed_loop", "main"]

Mode = Literal["submit", "evaluate"]
Operation = Callable[[int, int], Awaitable[object]]


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    """What one driver process runs; serialized as the JSON both drivers read.

    ``signer`` matters to the Node driver only (``default``: the pure JavaScript signer;
    ``openssl``: ``node:crypto``). ``run_id`` prefixes every ``CreateAsset`` id, so it must differ
    between runs on one ledger. Give exactly one of ``duration_s`` and ``count``.
    """

    peer_address: str
    tls_root_cert_path: str
    msp_id: str
    cert_path: str
    key_path: str
    channel: str
    chaincode: str
    mode: Mode
    concurrency: int
    run_id: str
    contract: str | None = None
    server_name: str | None = None
    signer: Literal["default", "openssl"] = "default"
    duration_s: float | None = None
    count: int | None = None
    warmup_s: float = 2.0

    def __post_init__(self) -> None:
        if self.mode not in ("submit", "evaluate"):
            raise ValueError(f"mode must be 'submit' or 'evaluate', got {self.mode!r}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
        if (self.duration_s is None) == (self.count is None):
            raise ValueError("give exactly one of duration_s and count")

    def to_json(self) -> str:
        """The config as the JSON document the drivers read (``None`` fields left out)."""
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def from_json(cls, text: str) -> LoadConfig:
        """Parse a config written by :meth:`to_json`.

        Raises:
            ValueError: the JSON is malformed, lacks a field or has an unknown one.
        """
        try:
            return cls(**json.loads(text))
        except TypeError as exc:
            raise ValueError(f"bad bench load config: {exc}") from exc


def asset_args(asset_id: str) -> tuple[str, ...]:
    """``CreateAsset`` arguments: about 100 bytes of JSON once the chaincode stores the asset."""
    return (asset_id, "blue", "5", "Tomoko Yamada", "300")


@dataclass(kw_only=True)
class LoopOutcome:
    """What :func:`closed_loop` measured inside its window."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    elapsed_s: float = 0.0


async def closed_loop(
    operation: Operation,
    *,
    concurrency: int,
    duration_s: float | None = None,
    count: int | None = None,
    warmup_s: float = 0.0,
    on_window_start: Callable[[], None] = lambda: None,
    on_window_end: Callable[[], None] = lambda: None,
) -> LoopOutcome:
    """Run ``operation(worker, sequence)`` in ``concurrency`` closed loops; measure one window.

    The window opens ``warmup_s`` after the start and closes after ``duration_s`` or at the
    ``count``-th completion; ``on_window_start``/``on_window_end`` run at those instants (the driver
    samples CPU there). Failed operations are counted, not raised; the loop goes on.
    """
    if (duration_s is None) == (count is None):
        raise ValueError("give exactly one of duration_s and count")
    outcome = LoopOutcome()
    window_start: float | None = None
    window_end: float | None = None
    closed = asyncio.Event()

    def close_window() -> None:
        nonlocal window_end
        if window_end is None:
            window_end = time.perf_counter()
            closed.set()

    async def worker(index: int) -> None:
        sequence = 0
        while not closed.is_set():
            started = time.perf_counter()
            try:
                await operation(index, sequence)
            except Exception as exc:  # every failure is a data point, never the end of the run
                if window_start is not None and window_end is None:
                    outcome.errors += 1
                    if outcome.first_error is None:
                        outcome.first_error = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                sequence += 1
            ended = time.perf_counter()
            if window_start is not None and window_end is None:
                outcome.latencies_ms.append((ended - started) * 1000)
                if count is not None and len(outcome.latencies_ms) >= count:
                    close_window()

    tasks = [asyncio.create_task(worker(index)) for index in range(concurrency)]
    await asyncio.sleep(warmup_s)
    on_window_start()
    window_start = time.perf_counter()
    if duration_s is not None:
        await asyncio.sleep(duration_s)
        close_window()
    await closed.wait()
    on_window_end()
    await asyncio.gather(*tasks)
    assert window_end is not None
    outcome.elapsed_s = window_end - window_start
    return outcome


def _cpu_seconds() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads, gRPC's included
    return usage.ru_utime, usage.ru_stime


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def _run_fabrx(config: LoadConfig) -> dict[str, Any]:
    # Imported here so that the orchestrator and the unit tests do not need the SDK loaded.
    from fabrx import aio
    from fabrx.endpoint import Endpoint
    from fabrx.identity import Identity
    from fabrx.signing import load_private_key, new_private_key_signer

    endpoint = Endpoint.from_files(
        config.peer_address, tls_root_cert=config.tls_root_cert_path, server_name=config.server_name
    )
    identity = Identity.from_pem_file(config.msp_id, config.cert_path)
    signer = new_private_key_signer(load_private_key(config.key_path))
    async with aio.connect(endpoint, identity=identity, signer=signer) as gateway:
        network = gateway.get_network(config.channel)
        contract = network.get_contract(config.chaincode, config.contract)
        operation: Operation
        if config.mode == "evaluate":
            seed_id = f"{config.run_id}-seed"
            await contract.submit_transaction("CreateAsset", *asset_args(seed_id))

            async def operation(worker: int, sequence: int) -> object:
                return await contract.evaluate_transaction("ReadAsset", seed_id)
        else:

            async def operation(worker: int, sequence: int) -> object:
                asset_id = f"{config.run_id}-{worker}-{sequence}"
                return await contract.submit_transaction("CreateAsset", *asset_args(asset_id))

        cpu_marks: list[tuple[float, float]] = []

        def window_start() -> None:
            cpu_marks.append(_cpu_seconds())
            _emit({"event": "window_start"})

        def window_end() -> None:
            cpu_marks.append(_cpu_seconds())
            _emit({"event": "window_end"})

        outcome = await closed_loop(
            operation,
            concurrency=config.concurrency,
            duration_s=config.duration_s,
            count=config.count,
            warmup_s=config.warmup_s,
            on_window_start=window_start,
            on_window_end=window_end,
        )
    (user0, system0), (user1, system1) = cpu_marks
    return result_record("fabrx", config, outcome, user_s=user1 - user0, system_s=system1 - system0)


def result_record(
    client: str, config: LoadConfig, outcome: LoopOutcome, *, user_s: float, system_s: float
) -> dict[str, Any]:
    """The ``result`` line of the driver protocol (same fields as the Node driver's)."""
    count = len(outcome.latencies_ms)
    cpu_ms = (user_s + system_s) * 1000
    return {
        "event": "result",
        "client": client,
        "mode": config.mode,
        "concurrency": config.concurrency,
        "count": count,
        "errors": outcome.errors,
        "first_error": outcome.first_error,
        "elapsed_s": round(outcome.elapsed_s, 3),
        "tps": round(count / outcome.elapsed_s, 1) if outcome.elapsed_s > 0 else 0.0,
        "latency_ms": summarize_latencies(outcome.latencies_ms),
        "cpu_ms": {
            "user": round(user_s * 1000, 1),
            "system": round(system_s * 1000, 1),
            "total": round(cpu_ms, 1),
        },
        "cpu_ms_per_tx": round(cpu_ms / count, 3) if count else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench.load [CONFIG.json]``; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    text = Path(args[0]).read_text() if args else sys.stdin.read()
    config = LoadConfig.from_json(text)
    try:
        record = asyncio.run(_run_fabrx(config))
    except Exception as exc:
        sys.stderr.write(f"bench.load: {type(exc).__name__}: {exc}\n")
        return 1
    _emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
