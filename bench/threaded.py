"""A closed loop over blocking calls: ``concurrency`` threads, each sending as soon as its last returned.

The pharma facades (:mod:`fabrx.pharma`) run over fabrx's blocking Gateway client, so the pharma
suite drives them from threads; the bare write it compares them with is driven by the same loop.
Counting follows :func:`bench.load.closed_loop`: a completion counts when it falls inside the window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .load import LoopOutcome

__all__ = ["threaded_loop"]


def threaded_loop(
    operation: Callable[[int, int], object],
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 0.0,
    on_window_edge: Callable[[], None] = lambda: None,
) -> LoopOutcome:
    """Run ``operation(worker, sequence)`` in ``concurrency`` threads; measure one window.

    ``on_window_edge`` runs as the window opens and as it closes (the pharma suite samples server CPU
    there). ``sequence`` counts each worker's calls from 0 (failed ones included). Failures are counted (the
    first one kept as text), never raised. Returns after every thread has finished its last call.

    Raises:
        ValueError: ``concurrency`` below 1 or a negative duration.
    """
    if concurrency < 1 or duration_s <= 0 or warmup_s < 0:
        raise ValueError(f"bad loop: concurrency {concurrency}, duration {duration_s}, warmup {warmup_s}")
    outcome = LoopOutcome()
    lock = threading.Lock()
    stop = threading.Event()
    window: list[float] = []  # [start] once open, [start, end] once closed

    def in_window(instant: float) -> bool:
        return len(window) == 1 and instant >= window[0]

    def worker(index: int) -> None:
        sequence = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                operation(index, sequence)
            except Exception as exc:  # every failure is a data point, never the end of the run
                with lock:
                    if in_window(time.perf_counter()):
                        outcome.errors += 1
                        if outcome.first_error is None:
                            outcome.first_error = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                sequence += 1
            ended = time.perf_counter()
            with lock:
                if in_window(ended):
                    outcome.latencies_ms.append((ended - started) * 1000)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(warmup_s)
    on_window_edge()
    with lock:
        window.append(time.perf_counter())
    time.sleep(duration_s)
    with lock:
        window.append(time.perf_counter())
    on_window_edge()
    stop.set()
    for thread in threads:
        thread.join()
    outcome.elapsed_s = window[1] - window[0]
    return outcome
