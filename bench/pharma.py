"""The pharma suite: second invoices through ``fabrx.pharma`` against a bare write.

On the default consortium (``network/consortium.yaml``: six organizations, the pharma chaincode with
its private data collections and its real endorsement policy), plus ``asset-py`` under the same
endorsement policy, DistributorA's client sends, in the same run and at each concurrency of the plan:

* **bare**: ``CreateAsset`` on ``asset-py``, one public key, endorsed by DistributorA and the
  Regulator (the organizations a distributor's invoice names);
* **invoice**: a second invoice with its shipment (``lines`` lines, two traceability codes each) to
  HospitalA through :class:`fabrx.pharma.Distributor`: validated by the domain code in the client,
  sent in the transient map, every rule checked by the chaincode on both endorsing peers, written to
  the pair's trade collection, DistributorA's books and the public anchor.

Both go through fabrx's blocking client from :func:`bench.threaded.threaded_loop` threads (the
facades are blocking). The figures kept are each workload's best concurrency; goals: invoices at
least 0.7 of the bare rate, and at least 150 invoice lines per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import cpu
from .benchnet import DEFAULT_CONSORTIUM, UpNetwork, load_template, running_network, variant
from .load import LoopOutcome, asset_args
from .runner import BenchError
from .threaded import threaded_loop

__all__ = [
    "PHARMA_PORT_BASE",
    "PharmaPlan",
    "bare_chaincode",
    "pharma_consortium",
    "pharma_figures",
    "pharma_suite",
]

# Clear of every other suite's ports and above Linux's ephemeral ports (see bench/__main__.py).
PHARMA_PORT_BASE = 63050
CLIENT_CPU = "client (bench process)"
"""The server-CPU table's row for the clients: the bench process, which runs ``fabrx.pharma``."""
SELLER, BUYER, MAKER = "DistributorAMSP", "HospitalAMSP", "ManufacturerMSP"
REGULATOR = "RegulatorMSP"
GOALS = {"ratio_to_bare": 0.7, "invoice_lines_per_s": 150.0}
# Network up (default consortium plus asset-py), the supply chain recorded, teardown: measured
# about 45 s on a busy 2-core machine.
SETUP_SECONDS = 45.0
SETUP_THREADS = 8
# A set-up write can reach the second endorser before the write it depends on (see _retrying).
SETUP_ATTEMPTS = 20
SETUP_RETRY_WAIT_S = 0.25

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class PharmaPlan:
    """Concurrencies (each runs both workloads), window lengths and invoice size."""

    # Measured on the 2-core machine: invoices peak near C=16 (22 invoices/s at C=32 against 31 at
    # C=16: more in flight only queue on the peers), the bare write near C=16 too.
    concurrencies: tuple[int, ...] = (8, 16)
    duration_s: float = 8.0
    warmup_s: float = 2.0
    lines: int = 5

    def __post_init__(self) -> None:
        if not self.concurrencies or min(self.concurrencies) < 1 or max(self.concurrencies) > 999:
            raise ValueError(f"pharma concurrencies must be within 1..999, got {self.concurrencies}")
        if not 1 <= self.lines <= 9:
            raise ValueError(f"an invoice has 1 to 9 lines here, got {self.lines}")

    def estimated_seconds(self) -> float:
        """Wall time of the suite, network included."""
        return SETUP_SECONDS + 2 * len(self.concurrencies) * (self.warmup_s + self.duration_s + 1.0)


def bare_chaincode(pharma: Mapping[str, Any]) -> dict[str, Any]:
    """``asset-py`` on the pharma channel under the pharma chaincode's endorsement policy."""
    return {
        "name": "asset-py",
        "channel": pharma["channel"],
        "version": "1.0",
        "runtime": {"python": "asset:AssetContract"},
        "server": {"shared": True},  # one process whose CPU per transaction is measured
        "endorsement_policy": pharma["endorsement_policy"],
    }


def pharma_consortium(template: Mapping[str, Any], *, port_base: int = PHARMA_PORT_BASE) -> dict[str, Any]:
    """The default consortium with ``asset-py`` added for the bare write, on ``port_base``.

    Raises:
        BenchError: the template has no ``pharma`` chaincode.
    """
    pharma = next((c for c in template.get("chaincodes", []) if c.get("name") == "pharma"), None)
    if pharma is None:
        raise BenchError("the consortium file has no 'pharma' chaincode to benchmark")
    return variant(template, port_base=port_base, extra_chaincodes=[bare_chaincode(pharma)])


def _tps(outcome: LoopOutcome) -> float:
    return round(len(outcome.latencies_ms) / outcome.elapsed_s, 1) if outcome.elapsed_s > 0 else 0.0


def pharma_figures(by_concurrency: Mapping[int, Mapping[str, LoopOutcome]], *, lines: int) -> dict[str, Any]:
    """The ``pharma`` results section from each concurrency's ``bare`` and ``invoice`` outcomes.

    Each workload is reported at its best concurrency; ``ratio_to_bare`` divides the two bests.

    Raises:
        ValueError: no outcomes.
    """
    if not by_concurrency:
        raise ValueError("no pharma runs to summarize")
    rates = {c: {kind: _tps(o) for kind, o in runs.items()} for c, runs in by_concurrency.items()}
    bare_c = max(rates, key=lambda c: rates[c].get("bare", 0.0))
    invoice_c = max(rates, key=lambda c: rates[c].get("invoice", 0.0))
    bare, invoice = rates[bare_c].get("bare", 0.0), rates[invoice_c].get("invoice", 0.0)
    return {
        "bare_tx_per_s": bare,
        "bare_concurrency": bare_c,
        "invoice_tx_per_s": invoice,
        "invoice_concurrency": invoice_c,
        "lines_per_invoice": lines,
        "invoice_lines_per_s": round(invoice * lines, 1),
        "ratio_to_bare": round(invoice / bare, 3) if bare else None,
        "goals": dict(GOALS),
        "by_concurrency": {
            str(c): {
                kind: {
                    "tps": _tps(o),
                    "count": len(o.latencies_ms),
                    "errors": o.errors,
                    "first_error": o.first_error,
                }
                for kind, o in runs.items()
            }
            for c, runs in sorted(by_concurrency.items())
        },
    }


def _retrying(action: Callable[[], object]) -> None:
    """Run one set-up write, again while the second endorsing peer has not caught up yet.

    A write depends on earlier ones (a batch on its product, a receipt on its invoice), which the
    submitting organization's peer has committed when ``submit`` returns, but the regulator's peer,
    the other endorser, may not have: it then refuses with ``UNKNOWN_...``/``PRIVATE_DATA``, or its
    result differs from the first peer's. Refused or failed writes wrote nothing, so trying again is
    safe; a ``DUPLICATE_RECORD`` on a later attempt means an earlier one was committed after all.
    """
    from fabrx.errors import FabrxError
    from fabrx.pharma import PharmaError

    for attempt in range(SETUP_ATTEMPTS):
        try:
            action()
            return
        except PharmaError as exc:
            if attempt and exc.rule in ("DUPLICATE_RECORD", "INVOICE_REUSED"):
                return
            if attempt == SETUP_ATTEMPTS - 1:
                raise
        except FabrxError:
            if attempt == SETUP_ATTEMPTS - 1:
                raise
        time.sleep(SETUP_RETRY_WAIT_S)


@contextmanager
def _clients(up: UpNetwork) -> Iterator[Any]:
    from fabrx.pharma import PharmaClients

    with PharmaClients(up.network) as clients:
        yield clients


def _supply_chain(clients: Any, workload: Any, progress: Progress) -> None:
    """Register the parties and the product, record every lane's batches, purchase and receipt."""
    from .pharma_workload import sample_parties

    regulator_party, parties = sample_parties()
    regulator, manufacturer = clients.regulator, clients.manufacturer
    distributor = clients.distributor(SELLER)
    if not regulator.is_bootstrapped():
        _retrying(lambda: regulator.bootstrap(regulator_party))
    for party in parties:
        _retrying(lambda: regulator.register_party(party))  # noqa: B023 - called before the next party
    _retrying(lambda: manufacturer.register_product(workload.product))
    lanes = workload.lanes
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        batches = [b for lane in lanes for b in lane.batches]
        list(pool.map(lambda b: _retrying(lambda: manufacturer.record_batch(b)), batches))
        list(pool.map(lambda lane: _retrying(lambda: manufacturer.issue_invoice(lane.first_invoice)), lanes))
        list(pool.map(lambda lane: _retrying(lambda: distributor.record_receipt(lane.receipt)), lanes))
    progress(f"pharma: supply chain recorded ({len(lanes)} lanes, {len(lanes) * workload.lines} batches)")


def _watched(up: UpNetwork) -> dict[str, int]:
    """The server processes an invoice or a bare write runs on: both endorsers, orderer, chaincodes."""
    processes = up.network.supervisor.processes
    names = {
        "peer DistributorA": "peer0.DistributorA",
        "peer Regulator": "peer0.Regulator",
        "orderer": "orderer0.Orderer",
        "chaincode pharma DistributorA": "chaincode.pharma.DistributorA",
        "chaincode pharma Regulator": "chaincode.pharma.Regulator",
        "chaincode asset-py": "chaincode.asset-py",
    }
    return {label: processes[node].pid for label, node in names.items() if node in processes}


CpuPerTx = dict[str, dict[str, dict[str, float | None]]]


def _measure(
    clients: Any, workload: Any, plan: PharmaPlan, watched: dict[str, int], progress: Progress
) -> tuple[dict[int, dict[str, LoopOutcome]], CpuPerTx]:
    """Both workloads at each concurrency; also CPU ms per completed transaction, per process (servers
    and the clients in this process)."""
    distributor = clients.distributor(SELLER)
    bare = clients.gateway(SELLER).get_network("pharma").get_contract("asset-py", "asset")
    endorsers = [SELLER, REGULATOR]
    sold = [0] * len(workload.lanes)  # next invoice of each lane; only the lane's own thread touches it
    run_tag = workload.tag

    def bare_write(worker: int, sequence: int) -> object:
        asset_id = f"pharma-bare-{run_tag}-{len(results)}-{worker}-{sequence}"
        return bare.submit_transaction(
            "CreateAsset", *asset_args(asset_id), endorsing_organizations=endorsers
        )

    def invoice(worker: int, sequence: int) -> object:
        number = sold[worker]
        sold[worker] += 1
        return distributor.issue_invoice(workload.second_invoice(worker, number))

    results: dict[int, dict[str, LoopOutcome]] = {}
    cpu_per_tx: CpuPerTx = {}
    for concurrency in plan.concurrencies:
        runs: dict[str, LoopOutcome] = {}
        for kind, operation in (("bare", bare_write), ("invoice", invoice)):
            marks: list[dict[str, float]] = []

            def sample(marks: list[dict[str, float]] = marks) -> None:
                # The clients run in this process (its own CPU time, every thread; not its children).
                marks.append({**cpu.trees_cpu_seconds(watched), CLIENT_CPU: time.process_time()})

            outcome = threaded_loop(
                operation,
                concurrency=concurrency,
                duration_s=plan.duration_s,
                warmup_s=plan.warmup_s,
                on_window_edge=sample,
            )
            count = len(outcome.latencies_ms)
            cpu_per_tx.setdefault(str(concurrency), {})[kind] = {
                name: round((marks[1][name] - marks[0][name]) * 1000 / count, 2) if count else None
                for name in marks[0]
            }
            errors = f", {outcome.errors} errors ({outcome.first_error})" if outcome.errors else ""
            progress(f"pharma {kind} C={concurrency}: {_tps(outcome)} tx/s{errors}")
            runs[kind] = outcome
        results[concurrency] = runs
    return results, cpu_per_tx


def pharma_suite(plan: PharmaPlan, *, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Bring up the default consortium with ``asset-py``, record the supply chain, measure both writes.

    Returns the ``pharma`` results section (see :func:`pharma_figures`).

    Raises:
        BenchError: Fabric is missing, the network did not come up, or setting up the supply chain
            was refused (the message names the rule).
    """
    from fabrx_pharma.policy import CHINA_STANDARD_TIME

    from .pharma_workload import PharmaWorkload

    workload = PharmaWorkload(
        manufacturer=MAKER,
        distributor=SELLER,
        hospital=BUYER,
        now=datetime.now(CHINA_STANDARD_TIME),
        lanes=max(plan.concurrencies),
        lines=plan.lines,
    )
    consortium = pharma_consortium(load_template(DEFAULT_CONSORTIUM))
    with running_network(consortium, label="pharma", progress=progress) as up, _clients(up) as clients:
        try:
            _supply_chain(clients, workload, progress)
        except Exception as exc:
            raise BenchError(
                f"recording the pharma supply chain failed: {type(exc).__name__}: {exc}"
            ) from exc
        measured, cpu_per_tx = _measure(clients, workload, plan, _watched(up), progress)
    return {"pharma": {**pharma_figures(measured, lines=plan.lines), "cpu_ms_per_tx": cpu_per_tx}}
