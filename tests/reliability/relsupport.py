"""What the reliability suite shares: its figures, what a *clear* error is, the pharma supply it writes on.

A clear answer to bad input (what every hostile case asserts):

1. **typed**: an exception of fabrx's error tree, :class:`fabrx.FabrxError` (SDK, network tooling,
   pharma facades, chaincode answers reach the client as :class:`fabrx.GatewayError`) or
   :class:`fabrx_pharma.DomainError` (records read by the domain code) — never a bare ``ValueError``,
   ``KeyError``, ``TypeError``, ``RecursionError`` or ``decimal.InvalidOperation``;
2. **a refusal, not a crash**: a chaincode answer has status 400, 403 or 404 (500 is the contract's
   status for an unexpected failure; a reset stream or an unavailable chaincode is a crash too);
3. **naming what is wrong**: the message holds the name of the offending field, argument, option, file
   or rule the case expects (pharma refusals carry it as ``field`` and ``rule``);
4. **no hang**: every call is bounded at :data:`CALL_TIMEOUT_S` seconds (the SDK's ``timeout``, or a
   worker thread joined with that timeout); running out of it is a hang, not a clear error;
5. for the command line: a non-zero exit code and no Python traceback in its output.

Each case also checks that nothing was committed: no new block on the channel (writes), no change of
local files (command line).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from bench.pharma_workload import PharmaWorkload, sample_parties

import fabrx
from fabrx.errors import FabrxError
from fabrx.pharma import PharmaClients, PharmaError
from fabrx_network import ConsortiumNetwork
from fabrx_pharma.errors import DomainError
from fabrx_pharma.policy import CHINA_STANDARD_TIME

T = TypeVar("T")

CALL_TIMEOUT_S = 5.0
"""Every hostile call must answer within this many seconds."""
CHANNEL = "pharma"
MAKER = "ManufacturerMSP"
SELLER = "DistributorAMSP"
BUYER = "HospitalAMSP"
REGULATOR = "RegulatorMSP"
SETUP_ATTEMPTS = 20


@dataclasses.dataclass
class FaultRun:
    """The outcome of one fault-injection run (one node kind killed and restarted under load)."""

    scenario: str
    node: str
    consensus: str
    duration_s: float
    concurrency: int
    submitted: int = 0
    acked: int = 0
    lost: int = 0
    duplicates: int = 0
    failed: int = 0
    failed_untyped: int = 0
    failed_without_transaction_id: int = 0
    failed_but_committed: int = 0
    unknown_outcomes: int = 0
    events_missing: int = 0
    events_duplicated: int = 0
    failure_kinds: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Figures:
    """Counters of one session of the suite (``make reliability`` writes them to bench/results.json)."""

    hostile: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    access_attempts: int = 0
    access_forbidden: int = 0
    unauthorized: int = 0
    faults: list[FaultRun] = dataclasses.field(default_factory=list)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def hostile_case(self, category: str, *, clear: bool) -> None:
        with self._lock:
            counts = self.hostile.setdefault(category, {"cases": 0, "unclear": 0})
            counts["cases"] += 1
            counts["unclear"] += 0 if clear else 1

    def access(self, *, allowed: bool, unauthorized: bool) -> None:
        """Count one cell of the access matrix: ``allowed`` to its subject or not, and whether a cell
        that is not allowed succeeded (an ``unauthorized`` access)."""
        with self._lock:
            self.access_attempts += 1
            self.access_forbidden += 0 if allowed else 1
            self.unauthorized += 1 if unauthorized else 0

    def to_dict(self) -> dict[str, Any]:
        runs = [dataclasses.asdict(run) for run in self.faults]

        def total(name: str) -> int:
            return sum(int(run[name]) for run in runs)

        return {
            "acked": total("acked"),
            "lost": total("lost"),
            "duplicates": total("duplicates"),
            "failed_but_committed": total("failed_but_committed"),
            "hostile_cases": sum(c["cases"] for c in self.hostile.values()),
            "unclear": sum(c["unclear"] for c in self.hostile.values()),
            "unauthorized": self.unauthorized,
            "details": {
                "access_attempts": self.access_attempts,
                "access_forbidden": self.access_forbidden,
                "hostile": self.hostile,
                "faults": runs,
                "submitted": total("submitted"),
                "failed": total("failed"),
                "unknown_outcomes": total("unknown_outcomes"),
                "events_missing": total("events_missing"),
                "events_duplicated": total("events_duplicated"),
            },
        }


def typed(error: BaseException) -> bool:
    """Whether ``error`` belongs to fabrx's error tree (the first condition of a clear error)."""
    return isinstance(error, FabrxError | DomainError)


def bounded(call: Callable[[], T], timeout: float = CALL_TIMEOUT_S) -> T:
    """Run ``call`` in a worker thread and wait at most ``timeout`` seconds for it.

    Raises:
        TimeoutError: the call did not return in time (it keeps running in its thread).
        BaseException: whatever ``call`` raised.
    """
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)


def channel_height(network: ConsortiumNetwork, org_name: str, channel: str = CHANNEL) -> int:
    org = network.consortium.org(org_name)
    with network.peer_admin(org, org.peers[0]) as admin:
        return int(admin.chain_info(channel).height)


def retrying(action: Callable[[], object]) -> None:
    """Run one set-up write, again while the second endorser has not caught up yet; a record already
    written by an earlier attempt (or an earlier run) is fine."""
    for attempt in range(SETUP_ATTEMPTS):
        try:
            action()
            return
        except PharmaError as exc:
            if exc.rule in ("DUPLICATE_RECORD", "INVOICE_REUSED"):
                return
            if attempt == SETUP_ATTEMPTS - 1:
                raise
        except FabrxError:
            if attempt == SETUP_ATTEMPTS - 1:
                raise
        time.sleep(0.3 * (attempt + 1))


def supply(clients: PharmaClients, *, lanes: int, capacity: int) -> PharmaWorkload:
    """A workload of second invoices DistributorA → HospitalA with the supply chain they draw on,
    recorded on the running network: bootstrap (if needed), parties, the product, each lane's batch,
    first invoice and receipt."""
    workload = PharmaWorkload(
        manufacturer=MAKER,
        distributor=SELLER,
        hospital=BUYER,
        now=datetime.now(CHINA_STANDARD_TIME),
        lanes=lanes,
        lines=1,
        capacity=capacity,
    )
    regulator_party, parties = sample_parties()
    regulator, manufacturer = clients.regulator, clients.manufacturer
    distributor = clients.distributor(SELLER)
    if not regulator.is_bootstrapped():
        retrying(lambda: regulator.bootstrap(regulator_party))
    for party in parties:
        retrying(lambda: regulator.register_party(party))  # noqa: B023 - called before the next party
    retrying(lambda: manufacturer.register_product(workload.product))
    for lane in workload.lanes:
        for batch in lane.batches:
            retrying(lambda: manufacturer.record_batch(batch))  # noqa: B023
        retrying(lambda: manufacturer.issue_invoice(lane.first_invoice))  # noqa: B023
        retrying(lambda: distributor.record_receipt(lane.receipt))  # noqa: B023
    return workload


@contextmanager
def gateway_as(network: ConsortiumNetwork, org_name: str, msp_folder: Any = None) -> Iterator[fabrx.Gateway]:
    """A Gateway on ``org_name``'s own peer as the client in ``msp_folder`` (default: its SDK client)."""
    org = network.consortium.org(org_name)
    folder = msp_folder if msp_folder is not None else network.client_msp(org)
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, folder)
    with fabrx.connect(network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer) as gateway:
        yield gateway
