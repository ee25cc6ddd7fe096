"""The scale suite: invoice lines per second on the ledger layout a province runs on.

On the default consortium (``network/consortium.yaml`` with Fabric's own gossip timers, as a province
runs them: six organizations, the pharma chaincode with its real endorsement policy, private copies in
the implicit collections of the seller's host and the regulator, every rule), DistributorA's client
sells second invoices of ``lines`` lines (two traceability codes each) to HospitalA, in the same run:

* **single**: one invoice per transaction (:meth:`fabrx.pharma.Distributor.issue_invoice`), ``C`` threads;
* **bulk**: ``bulk_invoices`` invoices per transaction (``write_records``), ``C`` threads, each selling
  from its own batches (a *lane*) so that transactions in flight never update the same stock counter;
* **bulk, province-sized**: the same on a second consortium, up beside the first in the same run, after
  ``members`` member organizations are in its channel (added by one channel configuration update signed
  by a majority of the members' admins; they run no nodes, which is enough to grow the channel
  configuration every validation reads) and its regulator registered ``parties`` hosted parties: neither
  may change the cost of an invoice (``members_ratio``). The bulk windows of the two consortiums take
  turns, ``rounds`` of each, and each side's figure is the median of its windows, so that a change in the
  machine's load during the run falls on both sides alike;
* **join**: a new hosted party of the province-sized consortium, from its registration to its first
  accepted invoice.

CPU time per invoice line of each process (both endorsing peers, the orderer, the chaincode server and
the client in this process) is recorded for the bulk window, so the next bottleneck is visible.

"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import cpu
from .benchnet import DEFAULT_CONSORTIUM, UpNetwork, load_template, running_network, variant
from .load import LoopOutcome
from .pharma import MAKER, SELLER, _clients, _retrying, _supply_chain
from .runner import BenchError
from .threaded import threaded_loop

__all__ = ["PROVINCE_PORT_BASE", "SCALE_PORT_BASE", "ScalePlan", "scale_figures", "scale_suite"]

# Clear of every other suite's ports, above Linux's ephemeral ports (see bench/__main__.py).
SCALE_PORT_BASE = 64050
PROVINCE_PORT_BASE = 64550
"""The province-sized consortium's ports, beside the default one's."""
BUYER = "HospitalAMSP"
PARTY_HOST = "HospitalBMSP"
CLIENT_CPU = "client (bench process)"
GOALS = {"lines_per_s_bulk": 1500.0, "lines_per_s_single": 300.0, "members_ratio": 0.9, "join_s": 5.0}
SETUP_SECONDS = 100.0
"""Both consortiums up and their supply chains recorded."""
PROVINCE_GOSSIP = {
    "alive_interval": "5s",
    "alive_expiration": "25s",
    "state_info_interval": "4s",
    "pull_interval": "4s",
}
"""Fabric's own gossip timers, as a province's deployment runs them (``fabrx_network.config.Gossip``)."""
PARTIES_PER_TRANSACTION = 1000

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class ScalePlan:
    """Threads, invoices per bulk transaction, window lengths, invoice size, parties registered."""

    single_concurrency: int = 8
    bulk_concurrency: int = 4
    bulk_invoices: int = 50
    duration_s: float = 5.5
    warmup_s: float = 1.5
    lines: int = 5
    parties: int = 5000
    members: int = 50
    """Member organizations in the channel for the province-sized window (the default six included)."""
    rounds: int = 3
    """Bulk windows of each consortium, taken in turns."""

    def __post_init__(self) -> None:
        if min(self.single_concurrency, self.bulk_concurrency) < 1:
            raise ValueError("scale concurrencies must be at least 1")
        if not 1 <= self.bulk_invoices <= 1000 or not 1 <= self.lines <= 9 or self.parties < 0:
            raise ValueError("bulk invoices 1..1000, lines 1..9, parties >= 0")
        if self.rounds < 1:
            raise ValueError("scale rounds must be at least 1")

    def estimated_seconds(self) -> float:
        """Wall time of the suite, networks and registrations included."""
        windows = (2 + 2 * self.rounds) * (self.warmup_s + self.duration_s + 1.0)
        return SETUP_SECONDS + windows + self.parties / 500


def _rate(outcome: LoopOutcome, per_operation: int) -> float:
    if outcome.elapsed_s <= 0:
        return 0.0
    return round(len(outcome.latencies_ms) * per_operation / outcome.elapsed_s, 1)


def _median_rate(outcomes: Sequence[LoopOutcome], per_operation: int) -> float | None:
    rates = [_rate(outcome, per_operation) for outcome in outcomes]
    return round(statistics.median(rates), 1) if rates else None


def scale_figures(
    *,
    single: LoopOutcome,
    bulk: Sequence[LoopOutcome],
    bulk_with_members: LoopOutcome | None = None,
    bulk_with_parties: Sequence[LoopOutcome],
    plan: ScalePlan,
    join_s: float | None,
    cpu_ms_per_line: dict[str, dict[str, float | None]],
) -> dict[str, Any]:
    """The ``scale`` results section.

    ``bulk`` and ``bulk_with_parties`` are the rounds of each consortium's bulk window: each figure is
    the median of its rounds' rates (every round's rate is kept under ``..._rounds``), and
    ``members_ratio`` divides the province-sized median by the default one. ``cpu_ms_per_line`` is per
    window (single, bulk, members, province; the rounds of one side summed).
    """
    per_bulk = plan.lines * plan.bulk_invoices
    lines_single = _rate(single, plan.lines)
    lines_bulk = _median_rate(bulk, per_bulk)
    with_members = _rate(bulk_with_members, per_bulk) if bulk_with_members is not None else None
    with_parties = _median_rate(bulk_with_parties, per_bulk)
    ratio = round(with_parties / lines_bulk, 3) if with_parties and lines_bulk else None
    return {
        "lines_per_s_bulk": lines_bulk,
        "lines_per_s_single": lines_single,
        "lines_per_s_bulk_members": with_members,
        "lines_per_s_bulk_province": with_parties,
        "lines_per_s_bulk_rounds": [_rate(outcome, per_bulk) for outcome in bulk],
        "lines_per_s_bulk_province_rounds": [_rate(outcome, per_bulk) for outcome in bulk_with_parties],
        "members": plan.members,
        "parties": plan.parties,
        "members_ratio": ratio,
        "join_s": round(join_s, 2) if join_s is not None else None,
        "cpu_ms_per_line": cpu_ms_per_line,
        "lines_per_invoice": plan.lines,
        "invoices_per_bulk_transaction": plan.bulk_invoices,
        "single_concurrency": plan.single_concurrency,
        "bulk_concurrency": plan.bulk_concurrency,
        "rounds": plan.rounds,
        "errors": {
            "single": single.errors,
            "bulk": sum(outcome.errors for outcome in bulk),
            "bulk_with_members": bulk_with_members.errors if bulk_with_members is not None else None,
            "bulk_with_parties": sum(outcome.errors for outcome in bulk_with_parties),
        },
        "first_error": next(
            (o.first_error for o in (single, *bulk, *bulk_with_parties) if o.first_error), None
        ),
        "goals": dict(GOALS),
    }


def _watched(up: UpNetwork) -> dict[str, int]:
    processes = up.network.supervisor.processes
    # The seller's and the regulator's peers endorse and commit; every other member's peer commits each
    # block too (validation grows with the members), so each default member's peer is listed.
    names = {
        "peer DistributorA": "peer0.DistributorA",
        "peer Regulator": "peer0.Regulator",
        "peer Manufacturer": "peer0.Manufacturer",
        "peer DistributorB": "peer0.DistributorB",
        "peer HospitalA": "peer0.HospitalA",
        "peer HospitalB": "peer0.HospitalB",
        "orderer": "orderer0.Orderer",
        "chaincode pharma DistributorA": "chaincode.pharma.DistributorA",
        "chaincode pharma Regulator": "chaincode.pharma.Regulator",
    }
    return {label: processes[node].pid for label, node in names.items() if node in processes}


def _register_parties(clients: Any, count: int, tag: str, progress: Progress) -> None:
    """The regulator registers ``count`` hosted clinics on HospitalB's node, a thousand per transaction."""
    from fabrx_pharma import Party, Role
    from fabrx_pharma.sample import sample_uscc

    parties = [
        Party(
            f"CLINIC-{tag}-{i:05d}",
            Role.HOSPITAL,
            f"benchmark clinic {i}",
            sample_uscc("12", "350100", f"5{i:07d}"),
            host_msp_id=PARTY_HOST,
        )
        for i in range(count)
    ]
    result = clients.regulator.write_records(parties, batch_size=PARTIES_PER_TRANSACTION, in_flight=1)
    if result.refused:
        first = result.refused[0]
        raise BenchError(f"registering parties was refused: {first.rule} {first.field}: {first.message}")
    progress(f"scale: {count} hosted parties registered in {result.transactions} transactions")


def _self_signed_ca(common_name: str) -> bytes:
    """A CA certificate for a member organization that runs no node (only its MSP goes in the channel)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now().astimezone()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def _grow_channel(up: UpNetwork, members: int, progress: Progress) -> None:
    """Add member organizations (MSP definitions, no nodes) to the pharma channel up to ``members``, in
    one configuration update signed by a majority of the current members' admins."""
    from fabrx.admin import (
        ChannelConfig,
        JoinRequest,
        add_organization,
        new_channel_update,
        read_channel_config,
        sign_update,
        submit_update,
    )

    network = up.network
    orgs = list(network.consortium.orgs)
    extra = members - len(orgs)
    if extra <= 0:
        return
    regulator = network.consortium.org("Regulator")
    with network.peer_admin(regulator, regulator.peers[0]) as admin:
        current = read_channel_config(admin, "pharma")
        updated = current
        for i in range(extra):
            pem = _self_signed_ca(f"ca.member{i:02d}.bench")
            request = JoinRequest(
                name=f"Member{i:02d}", msp_id=f"Member{i:02d}MSP", root_certs=(pem,), tls_root_certs=(pem,)
            )
            updated = ChannelConfig("pharma", add_organization(updated, request))
        update = new_channel_update(current, updated.copy())
        signatures = []
        for org in orgs[: len(orgs) // 2 + 1]:
            with network.peer_admin(org, org.peers[0]) as signer:
                signatures.append(sign_update(update, signer.identity, signer.signing.signer))
        submit_update(update, signatures, peer=admin, orderer=network.orderer_endpoint())
    progress(f"scale: {extra} member organizations added to the channel ({members} in all)")


def _join(clients: Any, workload: Any, tag: str) -> float:
    """Seconds from a new hosted party's registration to its first accepted invoice."""
    import dataclasses

    from fabrx_pharma import Party, Role
    from fabrx_pharma.sample import sample_uscc

    party_id = f"PHARMACY-{tag}"
    sale = workload.second_invoice(0, workload.capacity - 1)
    sale = dataclasses.replace(sale, buyer=party_id)
    started = time.monotonic()
    clients.regulator.register_party(
        Party(
            party_id,
            Role.HOSPITAL,
            "new pharmacy",
            sample_uscc("12", "350100", "59999999"),
            host_msp_id=PARTY_HOST,
        )
    )
    _retrying(lambda: clients.distributor(SELLER).issue_invoice(sale))
    return time.monotonic() - started


class _Side:
    """One consortium of the suite: its clients, and the next invoice of each lane its seller sells."""

    def __init__(self, up: UpNetwork, clients: Any, workload: Any) -> None:
        self.up = up
        self.clients = clients
        self.workload = workload
        self.watched = _watched(up)
        self._sold = [0] * len(workload.lanes)  # each lane is only ever sold from by its own thread

    def next_invoices(self, lane: int, count: int) -> list[Any]:
        first = self._sold[lane]
        self._sold[lane] += count
        return [self.workload.second_invoice(lane, first + i) for i in range(count)]

    def single(self, worker: int, sequence: int) -> object:
        return self.clients.distributor(SELLER).issue_invoice(self.next_invoices(worker, 1)[0])

    def bulk(self, invoices: int) -> Callable[[int, int], object]:
        def operation(worker: int, sequence: int) -> object:
            result = self.clients.distributor(SELLER).write_records(
                self.next_invoices(worker, invoices), batch_size=invoices, in_flight=1
            )
            if result.refused:
                first = result.refused[0]
                raise BenchError(f"an invoice was refused: {first.rule} {first.field}: {first.message}")
            return result

        return operation


@contextmanager
def _side(consortium: dict[str, Any], label: str, workload: Any, progress: Progress) -> Iterator[_Side]:
    """A consortium up, its clients open and its supply chain recorded."""
    with running_network(consortium, label=label, progress=progress) as up, _clients(up) as clients:
        try:
            _supply_chain(clients, workload, progress)
        except Exception as exc:
            raise BenchError(f"recording the supply chain failed: {type(exc).__name__}: {exc}") from exc
        yield _Side(up, clients, workload)


class _CpuPerLine:
    """CPU seconds of each watched process and invoice lines, summed per window label."""

    def __init__(self) -> None:
        self._seconds: dict[str, dict[str, float]] = {}
        self._lines: dict[str, int] = {}

    def add(self, label: str, before: dict[str, float], after: dict[str, float], lines: int) -> None:
        totals = self._seconds.setdefault(label, {})
        for name in before:
            totals[name] = totals.get(name, 0.0) + after[name] - before[name]
        self._lines[label] = self._lines.get(label, 0) + lines

    def figures(self) -> dict[str, dict[str, float | None]]:
        return {
            label: {
                name: round(seconds * 1000 / self._lines[label], 3) if self._lines[label] else None
                for name, seconds in totals.items()
            }
            for label, totals in self._seconds.items()
        }


def scale_suite(plan: ScalePlan, *, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Bring up the default consortium and a province-sized one, record the supply chain on both,
    measure; returns the ``scale`` section.

    Raises:
        BenchError: Fabric is missing, a network did not come up, or a set-up write was refused.
    """
    from fabrx_pharma.policy import CHINA_STANDARD_TIME

    from .pharma_workload import PharmaWorkload

    lanes = max(plan.single_concurrency, plan.bulk_concurrency)
    workload = PharmaWorkload(
        manufacturer=MAKER,
        distributor=SELLER,
        hospital=BUYER,
        now=datetime.now(CHINA_STANDARD_TIME) - timedelta(minutes=1),
        lanes=lanes,
        lines=plan.lines,
    )
    template = dict(load_template(DEFAULT_CONSORTIUM))
    template["gossip"] = dict(PROVINCE_GOSSIP)
    cpu_per_line = _CpuPerLine()
    per_bulk = plan.lines * plan.bulk_invoices

    def measure(
        label: str, side: _Side, operation: Callable[[int, int], object], concurrency: int, per_op: int
    ) -> LoopOutcome:
        marks: list[dict[str, float]] = []

        def sample() -> None:
            marks.append({**cpu.trees_cpu_seconds(side.watched), CLIENT_CPU: time.process_time()})

        outcome = threaded_loop(
            operation,
            concurrency=concurrency,
            duration_s=plan.duration_s,
            warmup_s=plan.warmup_s,
            on_window_edge=sample,
        )
        cpu_per_line.add(label, marks[0], marks[1], len(outcome.latencies_ms) * per_op)
        progress(f"scale {label}: {_rate(outcome, per_op)} lines/s")
        return outcome

    with ExitStack() as stack:
        default = stack.enter_context(
            _side(variant(template, port_base=SCALE_PORT_BASE), "scale", workload, progress)
        )
        province = stack.enter_context(
            _side(variant(template, port_base=PROVINCE_PORT_BASE), "scale-province", workload, progress)
        )
        with_members = None
        if plan.members > len(province.up.network.consortium.orgs):
            _grow_channel(province.up, plan.members, progress)
            label = f"bulk, {plan.members} members"
            with_members = measure(
                label, province, province.bulk(plan.bulk_invoices), plan.bulk_concurrency, per_bulk
            )
        if plan.parties:
            _register_parties(province.clients, plan.parties, workload.tag, progress)
        single = measure("single", default, default.single, plan.single_concurrency, plan.lines)
        bulk: list[LoopOutcome] = []
        with_parties: list[LoopOutcome] = []
        province_label = f"bulk, {plan.members} members and {plan.parties} parties"
        for _ in range(plan.rounds):
            bulk.append(
                measure("bulk", default, default.bulk(plan.bulk_invoices), plan.bulk_concurrency, per_bulk)
            )
            with_parties.append(
                measure(
                    province_label,
                    province,
                    province.bulk(plan.bulk_invoices),
                    plan.bulk_concurrency,
                    per_bulk,
                )
            )
        join_s = _join(province.clients, workload, workload.tag)
        progress(f"scale join: {join_s:.2f} s")
    return {
        "scale": scale_figures(
            single=single,
            bulk=bulk,
            bulk_with_members=with_members,
            bulk_with_parties=with_parties,
            plan=plan,
            join_s=join_s,
            cpu_ms_per_line=cpu_per_line.figures(),
        )
    }
