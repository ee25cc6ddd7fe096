"""A pharma load for tests that change a running network: the manufacturer records production batches.

Each batch is a new key with its own stock counter, so the threads never conflict with one another, and
the load needs nothing recorded first but the sample product (the supervision scenario registers it).
Every acknowledged transaction id and every failure is kept, so a test can assert that no submit failed
and that none acknowledged is missing from the ledger.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from fabrx import Network
from fabrx.pharma import Manufacturer
from fabrx_pharma import Batch
from fabrx_pharma.sample import CEFTRIAXONE

LOAD_THREADS = 8
"""Concurrent submitters: the C=8 of the membership benchmark."""


@dataclass
class BatchLoad:
    """The manufacturer records new production batches from :data:`LOAD_THREADS` threads until stopped.

    Each batch is a new key (its own stock counter), so the threads never conflict with one another;
    every acknowledged transaction id and every failure is kept.
    """

    manufacturer: Manufacturer
    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        tag = f"{time.time_ns() % 10**10:010d}"
        self._threads = [
            threading.Thread(target=self._run, args=(f"LOAD-{tag}-{lane}",), daemon=True)
            for lane in range(LOAD_THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, prefix: str) -> None:
        produced = date.today() - timedelta(days=30)
        n = 0
        while not self._stop.is_set():
            n += 1
            batch = Batch(
                product_id=CEFTRIAXONE.product_id,
                batch_number=f"{prefix}-{n}",
                manufacturer=CEFTRIAXONE.manufacturer,
                production_date=produced,
                expiry_date=produced + timedelta(days=700),
                quantity=100,
            )
            try:
                anchor = self.manufacturer.record_batch(batch)
            except Exception as exc:  # every failure is a finding of the test
                with self._lock:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            else:
                with self._lock:
                    self.acknowledged.append(anchor.transaction_id)

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def wait_more_than(self, since: int, what: str, timeout: float = 60.0) -> int:
        """Wait until more than ``since`` submits were acknowledged (the channel keeps ordering)."""
        deadline = time.monotonic() + timeout
        while (now := self.count()) <= since:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no batch committed within {timeout:.0f} s {what} (failures: {self.failures[:3]})"
                )
            time.sleep(0.1)
        return now

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self._threads), "a load thread did not stop"


def every_one_committed(channel: Network, transaction_ids: list[str]) -> None:
    """Every acknowledged transaction is on the ledger of ``channel``'s gateway peer, valid."""
    assert len(set(transaction_ids)) == len(transaction_ids), "a transaction was acknowledged twice"
    lost = []
    for transaction_id in transaction_ids:
        status = channel.transaction_status(transaction_id)
        if status is None or not status.successful:
            lost.append(f"{transaction_id}: {status}")
    assert lost == [], (
        f"{len(lost)} of {len(transaction_ids)} acknowledged submits are not committed: {lost[:5]}"
    )
