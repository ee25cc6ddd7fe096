"""The supervision feed's lag behind the ledger under a steady bulk write load (the projection suite).

On the default consortium (``network/consortium.yaml``, its own ports), with the supply chain of the scale
suite recorded, DistributorA's client writes second invoices in bulk to HospitalA for ``duration_s``
seconds (``concurrency`` threads, ``invoices`` invoices of ``lines`` lines per transaction, as the scale
suite's bulk window). Meanwhile one :class:`~fabrx_pharma_supervision.LedgerFeed` per backend on the
Regulator's own peer applies the blocks, with their private data, to a fresh store (SQLite and
PostgreSQL side by side, each in a process of its own, as a member runs its feed beside its peer),
and a second listener on the same peer (filtered blocks) notes when the peer delivers each block.
Every ``sample_s`` of the window the lag is the last block the peer delivered minus the last block
committed to each store; ``lag_blocks_p95`` is the 95th percentile of those samples.

In the same window: the ledger's rate (``lag_ledger_lines_per_s``, invoice lines accepted per second),
the feed's own rate (invoice lines applied per second spent applying them, block decoding not included:
``lag_feed_lines_per_busy_s``) and their ratio (``lag_feed_vs_ledger``).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .runner import BenchError

__all__ = ["LAG_PORT_BASE", "LagPlan", "lag_figures", "lag_samples"]

LAG_PORT_BASE = 65050
"""Clear of every other suite's ports, above Linux's ephemeral ports (see bench/__main__.py)."""
LAG_SETUP_SECONDS = 50.0
"""The network up and the supply chain recorded, on an idle 2-core machine (the scale suite counts 100 s
for two such consortiums)."""
_BUYER = "HospitalAMSP"


@dataclass(frozen=True, kw_only=True)
class LagPlan:
    duration_s: float = 30.0
    concurrency: int = 4
    invoices: int = 50
    lines: int = 5
    sample_s: float = 0.1
    port_base: int = LAG_PORT_BASE

    def estimated_seconds(self) -> float:
        return LAG_SETUP_SECONDS + self.duration_s + 10.0


def lag_samples(
    delivered: Iterable[tuple[float, int]],
    applied: Iterable[tuple[float, int]],
    *,
    start: float,
    end: float,
    first: int,
    step: float,
) -> list[int]:
    """The lag in blocks at every ``step`` from ``start`` to ``end``: the last block delivered by then
    (``delivered``: (instant, block number)) minus the last block applied by then (``applied``), both
    ``first`` before their first event; never below zero."""
    peer = sorted(delivered)
    store = sorted(applied)
    samples: list[int] = []
    p = s = 0
    peer_block = store_block = first
    instant = start
    while instant <= end:
        while p < len(peer) and peer[p][0] <= instant:
            peer_block = max(peer_block, peer[p][1])
            p += 1
        while s < len(store) and store[s][0] <= instant:
            store_block = max(store_block, store[s][1])
            s += 1
        samples.append(max(0, peer_block - store_block))
        instant += step
    return samples


class _TimedStore:
    """The store as the feed sees it, timing each range it applies and counting its invoice lines."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.busy_s = 0.0
        self.lines = 0

    def checkpoint(self, feed: str = "pharma") -> int | None:
        return self._store.checkpoint(feed)  # type: ignore[no-any-return]

    def apply_blocks(self, blocks: list[Any], *, feed: str = "pharma") -> int:
        from fabrx_pharma import Invoice

        started = time.perf_counter()
        applied = self._store.apply_blocks(blocks, feed=feed)
        self.busy_s += time.perf_counter() - started
        self.lines += sum(
            len(write.record.lines)
            for block in blocks
            for write in block.writes
            if isinstance(write.record, Invoice)
        )
        return int(applied)


def _regulator_channel(stack: ExitStack, config: Path, run_dir: Path) -> Any:
    import fabrx
    from fabrx_network import open_network

    net = open_network(config, run_dir)
    regulator = net.consortium.org("Regulator")
    identity, signer, _ = fabrx.load_msp_folder(regulator.msp_id, net.client_msp(regulator))
    gateway = stack.enter_context(
        fabrx.connect(net.peer_endpoint(regulator, regulator.peers[0]), identity=identity, signer=signer)
    )
    return gateway.get_network("pharma")


def _follow(url: str, config: Path, run_dir: Path, marks: Any, stop: Any) -> None:
    """A feed process (as a member runs it, beside its peer): apply blocks until ``stop`` is set,
    putting (instant, last block) on ``marks`` after each range, then ("done", busy seconds, lines)."""
    from fabrx_pharma_supervision import LedgerFeed, SupervisionStore

    try:
        with ExitStack() as stack:
            store = _TimedStore(stack.enter_context(SupervisionStore.open(url)))
            channel = _regulator_channel(stack, config, run_dir)
            marks.put(("ready", 0.0, 0))
            LedgerFeed(store, channel).run(  # type: ignore[arg-type]
                stop=stop.is_set, on_applied=lambda last: marks.put((time.perf_counter(), last))
            )
        marks.put(("done", store.busy_s, store.lines))
    except BaseException as exc:
        marks.put(("failed", f"{type(exc).__name__}: {exc}", 0))


def _percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def lag_figures(
    plan: LagPlan, stores: Mapping[str, str], *, progress: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Bring the consortium up, load it and feed one store per backend beside it (``stores``: backend
    name to a fresh store's URL, fed side by side in the same window); the ``lag_*`` figures per backend.

    Raises:
        BenchError: Fabric is missing, the network did not come up, a set-up write or an invoice was
            refused, or a feed failed.
    """
    from fabrx_pharma.policy import CHINA_STANDARD_TIME
    from fabrx_pharma_supervision import LedgerFeed, SupervisionStore

    from .benchnet import DEFAULT_CONSORTIUM, load_template, running_network, variant
    from .pharma import MAKER, SELLER, _clients, _supply_chain
    from .pharma_workload import PharmaWorkload
    from .scale import _Side
    from .threaded import threaded_loop

    workload = PharmaWorkload(
        manufacturer=MAKER,
        distributor=SELLER,
        hospital=_BUYER,
        now=datetime.now(CHINA_STANDARD_TIME) - timedelta(minutes=1),
        lanes=plan.concurrency + 1,
        lines=plan.lines,
    )
    consortium = variant(dict(load_template(DEFAULT_CONSORTIUM)), port_base=plan.port_base)
    spawn = multiprocessing.get_context("spawn")  # no fork of a process with gRPC threads
    with ExitStack() as stack:
        up = stack.enter_context(running_network(consortium, label="projection-lag", progress=progress))
        clients = stack.enter_context(_clients(up))
        try:
            _supply_chain(clients, workload, progress)
        except Exception as exc:
            raise BenchError(f"recording the supply chain failed: {type(exc).__name__}: {exc}") from exc
        side = _Side(up, clients, workload)
        config, run_dir = up.folder / "consortium.yaml", up.folder / "run"
        channel = _regulator_channel(stack, config, run_dir)
        regulator = up.network.consortium.org("Regulator")
        with up.network.peer_admin(regulator, regulator.peers[0]) as admin:
            height = int(admin.chain_info("pharma").height)
        for url in stores.values():
            with SupervisionStore.open(url) as store:
                LedgerFeed(store, channel).run(until_block=height - 1, timeout=120)
        progress(f"projection lag: the stores hold blocks 0-{height - 1}; loading the ledger")
        delivered: list[tuple[float, int]] = []
        done = threading.Event()
        failures: list[str] = []

        def watch() -> None:
            try:
                with channel.filtered_block_events(start_block=height) as events:
                    for block in events:
                        delivered.append((time.perf_counter(), int(block.number)))
                        if done.is_set():
                            return
            except BaseException as exc:  # reported below unless the window is over
                if not done.is_set():
                    failures.append(f"{type(exc).__name__}: {exc}")

        stop = spawn.Event()
        queues = {backend: spawn.Queue() for backend in stores}
        feeds = {
            backend: spawn.Process(
                target=_follow, args=(url, config, run_dir, queues[backend], stop), daemon=True
            )
            for backend, url in stores.items()
        }
        applied: dict[str, list[tuple[float, int]]] = {backend: [] for backend in stores}
        totals: dict[str, tuple[float, int]] = {}
        ready: set[str] = set()

        def drain(backend: str, wait: float = 0.0) -> None:
            while True:
                try:
                    item = queues[backend].get(timeout=wait) if wait else queues[backend].get_nowait()
                except queue.Empty:
                    return
                if item[0] == "ready":
                    ready.add(backend)
                    continue
                if item[0] == "done":
                    totals[backend] = (item[1], item[2])
                    return
                if item[0] == "failed":
                    failures.append(f"{backend} feed: {item[1]}")
                    return
                applied[backend].append(item)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for process in feeds.values():
            process.start()
        # The feed processes start, open their stores and connect before the load starts.
        deadline = time.monotonic() + 300
        while len(ready) < len(stores) and time.monotonic() < deadline and not failures:
            for backend in stores:
                drain(backend, wait=0.2)
        if len(ready) < len(stores):
            raise BenchError(f"the feed processes did not start: {failures or sorted(set(stores) - ready)}")
        started = time.perf_counter()
        outcome = threaded_loop(
            side.bulk(plan.invoices), concurrency=plan.concurrency, duration_s=plan.duration_s
        )
        ended = time.perf_counter()
        # The feeds catch up with the peer; one more invoice then wakes every listener to stop.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not failures:
            for backend in stores:
                drain(backend)
            peer_last = delivered[-1][1] if delivered else height - 1
            if all(marks and marks[-1][1] >= peer_last for marks in applied.values()):
                break
            time.sleep(0.2)
        done.set()
        stop.set()
        side.single(plan.concurrency, 0)
        for backend, process in feeds.items():
            while backend not in totals and process.is_alive() and not failures:
                drain(backend, wait=1.0)
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
            drain(backend)  # what it put before it ended
        watcher.join(timeout=60)
        if failures:
            raise BenchError(f"the feed failed under load: {failures[0]}")
        if outcome.first_error:
            raise BenchError(f"the load failed: {outcome.first_error}")
    ledger_rate = len(outcome.latencies_ms) * plan.invoices * plan.lines / outcome.elapsed_s
    in_window = [number for instant, number in delivered if started <= instant <= ended]
    figures: dict[str, dict[str, Any]] = {}
    for backend in stores:
        samples = lag_samples(
            delivered, applied[backend], start=started, end=ended, first=height - 1, step=plan.sample_s
        )
        busy_s, lines = totals.get(backend, (0.0, 0))
        feed_rate = lines / busy_s if busy_s else None
        figures[backend] = {
            "lag_blocks_p95": _percentile(samples, 0.95),
            "lag_blocks_max": max(samples),
            "lag_samples": len(samples),
            "lag_window_s": round(ended - started, 1),
            "lag_window_blocks": len(in_window),
            "lag_ledger_lines_per_s": round(ledger_rate, 1),
            "lag_feed_lines_per_busy_s": round(feed_rate) if feed_rate else None,
            "lag_feed_vs_ledger": round(feed_rate / ledger_rate, 1) if feed_rate and ledger_rate else None,
        }
    return figures
