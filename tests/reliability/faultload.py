"""Faults under load: second invoices at C=8 through the SDK while one node is killed and restarted.

:func:`run_fault` drives one run on a running network with the pharma supply recorded
(:func:`relsupport.supply`): eight writer threads, one per lane, issue DistributorA's second invoices
through the :class:`fabrx.pharma.Distributor` facade (its own retries included) for ``duration_s``; a
listener follows the chaincode's events with a file checkpoint; after a third of the run the node is
killed with SIGKILL, and after ``down_s`` it is brought back the documented way (``fabrx network
restart NODE`` or ``fabrx network up``) while the listener is closed and reopened from its checkpoint,
as a restarted process would. Every attempt the facade makes goes through :class:`RecordingContract`,
so every transaction id sent is known.

Afterwards the ledger is asked about every write (on the regulator's peer, which endorses them all):

- **acked**: the facade returned an anchor. **lost**: the anchor's transaction is not ``VALID`` on
  the ledger, or the ledger's anchor of that invoice names another transaction.
- **duplicates**: the seller's ``sold`` counter of each lane's batch, against the invoices of that lane
  the ledger holds (each invoice sells :data:`bench.pharma_workload.UNITS_PER_LINE` packages): a write
  applied twice sells twice.
- **failed**: the facade raised. Every failure must be of fabrx's error tree and carry the id of the
  transaction it reports on; **failed_but_committed** counts failures reported as such (any error but
  :class:`fabrx.CommitStatusUnknown`) while the ledger has one of the write's transactions ``VALID``
  — the reported one or any earlier attempt's (a failure reported for a write that committed).
- **unknown outcomes**: attempts that ended in :class:`fabrx.CommitStatusUnknown` (not a failure
  report), also when the facade's last attempt raised it: each must resolve, once the network serves
  again, to its true status on the ledger (a validation code, or not on the ledger); a write that
  ended so and committed is not a failure reported for a committed write.
- **events**: every acked transaction's ``pharma.invoice`` event reached the listener, none twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import ssl
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.pharma_workload import UNITS_PER_LINE, PharmaWorkload
from click.testing import CliRunner
from relsupport import CHANNEL, REGULATOR, SELLER, FaultRun

import fabrx
from fabrx.errors import CommitError, CommitStatusUnknown, FabrxError
from fabrx.gateway import Status, StatusCode
from fabrx.pharma import Distributor, PharmaClients, RecordNotFound
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork
from fabrx_network.config import ORG_ADMIN_USER

CONCURRENCY = 8


class RecordingContract:
    """A ``ContractLike`` over a real :class:`fabrx.Contract` that logs every submit attempt's
    transaction id and how it ended (in the calling thread's current write)."""

    def __init__(self, contract: fabrx.Contract, current: threading.local) -> None:
        self._contract = contract
        self._current = current

    def submit_transaction(
        self,
        transaction_name: str,
        *args: str | bytes,
        transient: Mapping[str, str | bytes] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes:
        proposal = self._contract.new_proposal(
            transaction_name, args=args, transient=transient, endorsing_organizations=endorsing_organizations
        )
        attempts: list[tuple[str, str]] = self._current.attempts
        try:
            transaction = proposal.endorse()
            status = transaction.submit().status()
            if not status.successful:
                raise CommitError(proposal.transaction_id, status.code.name, status.block_number)
        except Exception as error:
            attempts.append((proposal.transaction_id, type(error).__name__))
            raise
        attempts.append((proposal.transaction_id, "VALID"))
        return transaction.result

    def evaluate_transaction(
        self,
        transaction_name: str,
        *args: str | bytes,
        transient: Mapping[str, str | bytes] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes:
        return self._contract.evaluate_transaction(
            transaction_name, *args, transient=transient, endorsing_organizations=endorsing_organizations
        )

    def transaction_status(self, transaction_id: str) -> fabrx.Status | None:
        return self._contract.transaction_status(transaction_id)


@dataclasses.dataclass
class Write:
    lane: int
    number: str
    attempts: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    anchor_transaction_id: str | None = None
    error: BaseException | None = None


def kill_outright(network: ConsortiumNetwork, node: str) -> None:
    """SIGKILL ``node`` and wait until its process is gone (reaped, sockets released)."""
    pid = network.supervisor.processes[node].pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while network.supervisor.is_running(node) or Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{node} (pid {pid}) not gone 30 s after SIGKILL")
        time.sleep(0.05)


def restart_documented(network: ConsortiumNetwork, node: str, how: str) -> None:
    """Bring ``node`` back as the docs say: ``fabrx network restart NODE`` or ``fabrx network up``."""
    command = ["network", "restart", node] if how == "restart" else ["network", "up"]
    result = CliRunner().invoke(
        cli,
        ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir), *command],
    )
    if result.exit_code != 0:
        raise AssertionError(f"fabrx {' '.join(command)} failed ({result.exit_code}): {result.output}")
    if not network.supervisor.is_running(node):
        raise AssertionError(f"fabrx {' '.join(command)} did not bring {node} back")


def raft_leader(network: ConsortiumNetwork, channel: str = CHANNEL, timeout: float = 60) -> str:
    """The orderer that leads ``channel``'s Raft cluster (its ``consensus_etcdraft_is_leader`` metric)."""
    org = network.consortium.orderer_org
    tls = network.layout.user_tls(org.name, ORG_ADMIN_USER)
    context = ssl.create_default_context(cafile=str(network.layout.ca_cert(org.name)))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for orderer in org.orderers:
            url = f"https://{network.consortium.host}:{orderer.operations_port}/metrics"
            try:
                with urllib.request.urlopen(url, context=context, timeout=3) as response:
                    text = response.read().decode()
            except OSError:
                continue
            if f'consensus_etcdraft_is_leader{{channel="{channel}"}} 1' in text:
                return f"{orderer.name}.{org.name}"
        time.sleep(0.5)
    raise AssertionError(f"no Raft leader of {channel} after {timeout:g} s")


class Listener:
    """Chaincode events of ``pharma`` on one organization's gateway, checkpointed to a file; closing the
    stream (:meth:`reopen`) makes it start again from the checkpoint, as a restarted listener would."""

    def __init__(self, network: fabrx.Network, start_block: int, checkpoint: Path) -> None:
        self._network = network
        self._start = start_block
        self._checkpointer = fabrx.FileCheckpointer(checkpoint)
        self._checkpoint_path = checkpoint
        self._stop = threading.Event()
        self._stream: Any = None
        self._lock = threading.Lock()
        self.seen: list[str] = []
        self.reopened = 0
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            checkpointer = fabrx.FileCheckpointer(self._checkpoint_path)  # as a new process loads it
            try:
                stream = self._network.chaincode_events(
                    "pharma", start_block=self._start, checkpoint=checkpointer
                )
            except FabrxError as error:
                self.errors.append(error)
                time.sleep(0.5)
                continue
            with self._lock:
                self._stream = stream
            try:
                for event in stream:
                    if event.event_name == "pharma.invoice":
                        self.seen.append(event.transaction_id)
                    checkpointer.checkpoint_chaincode_event(event)
            except FabrxError as error:
                self.errors.append(error)
                time.sleep(0.5)
            finally:
                stream.close()

    def reopen(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            self.reopened += 1
            stream.close()

    def stop(self) -> None:
        self._stop.set()
        self.reopen()
        self._thread.join(timeout=30)


def _same_heights(network: ConsortiumNetwork, timeout: float = 120.0) -> None:
    """Wait until every peer holds as many blocks of the channel as every other (a restarted node has
    caught up), then a moment more for a transaction still in ordering to commit."""
    deadline = time.monotonic() + timeout
    while True:
        heights = {n.name: n.heights.get(CHANNEL) for n in network.status().nodes if n.kind == "peer"}
        if len(set(heights.values())) == 1:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"peers disagree on the height of {CHANNEL} after {timeout:g} s: {heights}")
        time.sleep(0.5)
    time.sleep(SETTLE_S)


SETTLE_S = 5.0
"""Seconds after the peers agree, before the ledger is asked: a batch cut then has committed."""


def _status(network: fabrx.Network, transaction_id: str) -> Status | None:
    """The ledger's status of ``transaction_id`` on the regulator's peer; ``None``: not on the ledger."""
    return network.transaction_status(transaction_id, timeout=10)


def run_fault(
    network: ConsortiumNetwork,
    clients: PharmaClients,
    workload: PharmaWorkload,
    *,
    scenario: str,
    node: str | Callable[[], str],
    how: str,
    duration_s: float,
    down_s: float,
    workdir: Path,
) -> FaultRun:
    """Run the load, kill and bring back ``node`` (a name, or a function choosing it at kill time),
    then check every write against the ledger; see the module docstring."""
    gateway = clients.gateway(SELLER)
    contract = gateway.get_network(CHANNEL).get_contract("pharma")
    current = threading.local()
    distributor = Distributor(RecordingContract(contract, current), SELLER)
    regulator_network = clients.gateway(REGULATOR).get_network(CHANNEL)
    org = network.consortium.org("Regulator")
    with network.peer_admin(org, org.peers[0]) as admin:
        height = int(admin.chain_info(CHANNEL).height)
    listener = Listener(gateway.get_network(CHANNEL), height, workdir / f"{scenario}-checkpoint.json")

    writes: list[Write] = []
    writes_lock = threading.Lock()
    sequence = [_next_sequence(workload, lane) for lane in range(CONCURRENCY)]
    started = time.monotonic()
    end = started + duration_s

    def writer(lane: int) -> None:
        while time.monotonic() < end:
            invoice = workload.second_invoice(lane, sequence[lane])
            sequence[lane] += 1
            write = Write(lane, str(invoice.number))
            current.attempts = write.attempts
            try:
                anchor = distributor.issue_invoice(invoice)
                write.anchor_transaction_id = anchor.transaction_id
            except Exception as error:
                write.error = error
            with writes_lock:
                writes.append(write)
            if write.error is not None:
                time.sleep(0.2)

    threads = [threading.Thread(target=writer, args=(lane,), daemon=True) for lane in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    time.sleep(duration_s / 3)
    victim = node() if callable(node) else node
    kill_outright(network, victim)
    listener.reopen()
    time.sleep(down_s)
    restart_documented(network, victim, how)
    for thread in threads:
        thread.join(timeout=duration_s + 300)
    assert not any(thread.is_alive() for thread in threads), "a writer is still blocked"
    network.wait_converged(timeout=120)
    _same_heights(network)

    run = FaultRun(
        scenario=scenario,
        node=victim,
        consensus=network.consortium.orderer_org.consensus,
        duration_s=duration_s,
        concurrency=CONCURRENCY,
    )
    _check(run, writes, regulator_network, clients, workload, listener)
    _CURSORS[id(workload)] = sequence
    return run


_CURSORS: dict[int, list[int]] = {}


def _next_sequence(workload: PharmaWorkload, lane: int) -> int:
    """Where ``lane``'s invoices go on (one workload serves several runs on the same network)."""
    cursors = _CURSORS.get(id(workload))
    return cursors[lane] if cursors else 0


def _check(
    run: FaultRun,
    writes: list[Write],
    ledger: fabrx.Network,
    clients: PharmaClients,
    workload: PharmaWorkload,
    listener: Listener,
) -> None:
    regulator = clients.regulator
    kinds: Counter[str] = Counter()
    on_ledger_per_lane: Counter[int] = Counter()
    acked_ids: list[str] = []
    for write in writes:
        run.submitted += 1
        try:
            anchor = regulator.read_anchor("invoice", write.number)
        except RecordNotFound:
            anchor = None
        if anchor is not None:
            on_ledger_per_lane[write.lane] += 1
        statuses = {tx: _status(ledger, tx) for tx, _ in write.attempts}
        # An unknown outcome is resolved by the ledger: a validation code, or no such transaction
        # (asked once the peers agree again, see _same_heights).
        run.unknown_outcomes += sum(outcome == CommitStatusUnknown.__name__ for _, outcome in write.attempts)
        if write.anchor_transaction_id is not None:
            run.acked += 1
            acked_ids.append(write.anchor_transaction_id)
            status = statuses.get(write.anchor_transaction_id) or _status(ledger, write.anchor_transaction_id)
            valid = status is not None and status.code is StatusCode.VALID
            if not valid or anchor is None or anchor.transaction_id != write.anchor_transaction_id:
                run.lost += 1
            continue
        run.failed += 1
        error = write.error
        kinds[type(error).__name__] += 1
        if not isinstance(error, FabrxError):
            run.failed_untyped += 1
        transaction_id = str(getattr(error, "transaction_id", "") or "")
        if not transaction_id:
            run.failed_without_transaction_id += 1
            continue
        if isinstance(error, CommitStatusUnknown):
            continue  # not a failure report: the caller was told to ask the ledger
        if transaction_id not in statuses:
            statuses[transaction_id] = _status(ledger, transaction_id)
        if any(status is not None and status.code is StatusCode.VALID for status in statuses.values()):
            run.failed_but_committed += 1
    run.failure_kinds = dict(kinds)
    seller = clients.distributor(SELLER)
    for lane in range(CONCURRENCY):
        batch = workload.lanes[lane].batches[0]
        sold = seller.read_stock(batch.product_id, batch.batch_number).sold
        expected = _previously_sold(workload, lane) + on_ledger_per_lane[lane] * UNITS_PER_LINE
        _SOLD[(id(workload), lane)] = sold
        run.duplicates += abs(sold - expected) // UNITS_PER_LINE
    deadline = time.monotonic() + 60
    while set(acked_ids) - set(listener.seen) and time.monotonic() < deadline:
        time.sleep(0.5)
    listener.stop()
    seen = Counter(listener.seen)
    run.events_missing = len(set(acked_ids) - set(seen))
    run.events_duplicated = sum(count - 1 for count in seen.values() if count > 1)


_SOLD: dict[tuple[int, int], int] = {}


def _previously_sold(workload: PharmaWorkload, lane: int) -> int:
    """Packages the lane had sold before this run (earlier runs on the same network and workload)."""
    return _SOLD.get((id(workload), lane), 0)


def describe(run: FaultRun) -> str:
    return json.dumps(dataclasses.asdict(run), sort_keys=True)
