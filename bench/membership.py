"""The membership suite: a hospital group joins a running consortium under load, then leaves it again.

On the default consortium (``network/consortium.yaml``: six organizations, the pharma chaincode with its
real endorsement policy), DistributorA's client sells second invoices to HospitalA from ``concurrency``
threads (fabrx's blocking Gateway client, real invoices, each thread from its own batches) for the whole
run. Meanwhile a new hospital, HospitalD, runs its own deployment on its own loopback address
(``127.0.1.8``, standing for another host) from its own member file and run directory, and joins the
way a member joins a real consortium, every step a ``fabrx`` command with files handed over:

1. ``member up`` on HospitalD's host writes ``join-request.json`` (before the clock starts);
2. *add-org*: the regulator's admin turns the request into a channel configuration update;
3. *sign*: a majority of the six members' admins sign it, each a file in and a signature file out (at
   the same time, as admins on their own hosts do);
4. *submit*: the regulator's admin submits the update with the signatures;
5. HospitalD's peer joins the channel, by ``join_from``:

   * ``snapshot`` (the default): *snapshot*: the regulator's admin has its peer write a ledger snapshot
     (``fabrx channel snapshot``), after the block that added HospitalD; *hand over*: the folder is
     copied to HospitalD's host; *join*: HospitalD's admin joins its peer from it (``fabrx channel join
     --snapshot``); the peer pulls only the blocks after the snapshot;
   * ``genesis``: *fetch*: HospitalD's admin fetches the genesis block from the orderer; *join*:
     ``member join``; the peer pulls every block of the channel;

6. *definition*: until HospitalD's peer has the pharma chaincode's definition (it answers its own
   admin only once it has reached the block that added its organization);
7. *approve and catch-up*: ``member approve`` installs and approves the pharma chaincode for HospitalD
   and waits until HospitalD's peer committed the approval, so until it caught up with the channel;
8. *register and sell*, beside steps 5-7 (neither needs HospitalD's peer): the regulator registers
   HospitalD as a party and DistributorA sells to it;
9. *receipt*: HospitalD records the receipt with its own client on its own peer (retried until its
   peer's discovery knows the regulator's peer, the other endorser).

``join_s`` runs from step 2 to the accepted receipt; every submit of the load that completed in that
window counts in ``submits_during_join``, each failure in ``failed_during_join``.

Then HospitalD leaves: the admins remove it from the channel configuration (majority signatures again)
and the regulator marks the party inactive. The suite checks, and fails if not so, that HospitalD's own
submit is refused, that nobody can invoice it any more, that its peer receives no new block while the
channel grows, and that its trade stays readable to the distributor and the regulator and the regulator's
compliance report runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from . import cpu
from .benchnet import DEFAULT_CONSORTIUM, UpNetwork, load_template, running_network, variant
from .pharma import MAKER, SELLER, _clients, _retrying, _supply_chain
from .runner import BenchError

__all__ = [
    "MEMBERSHIP_PORT_BASE",
    "MEMBER_PORT_OFFSET",
    "MembershipPlan",
    "SubmitLog",
    "membership_figures",
    "membership_suite",
]

# Clear of every other suite's ports, above Linux's ephemeral ports (see bench/__main__.py): the
# consortium from here, the new member's own nodes from here + MEMBER_PORT_OFFSET, both below 65536.
MEMBERSHIP_PORT_BASE = 63250
MEMBER_PORT_OFFSET = 600
MEMBER = "HospitalD"
MEMBER_MSP = "HospitalDMSP"
MEMBER_HOST = "127.0.1.8"
BUYER = "HospitalAMSP"
REGULATOR = "RegulatorMSP"
REPORT_TIMEOUT_S = 300.0
MAJORITY = ("Regulator", "Manufacturer", "DistributorA", "HospitalA")
"""Four of the six members' admins: the channel's ``Admins`` policy is a majority of its members."""
GOALS = {"join_s": 60.0, "failed_during_join": 0}
SETUP_SECONDS = 75.0
"""The consortium up, its supply chain recorded, HospitalD's deployment up."""
LEAVE_SECONDS = 30.0
"""The removal, its checks, and HospitalD's deployment down."""
FABRX = Path(sys.executable).with_name("fabrx")

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class MembershipPlan:
    """The load's concurrency and invoice size, and how long the load runs before the join starts."""

    concurrency: int = 8
    lines: int = 1
    warmup_s: float = 5.0
    quiet_s: float = 5.0
    """How long the load runs after HospitalD left, while its peer must receive no block."""
    port_base: int = MEMBERSHIP_PORT_BASE
    join_from: str = "snapshot"
    """``snapshot`` (a member's peer writes one after the block that added the new member) or
    ``genesis`` (the new peer pulls every block)."""

    def __post_init__(self) -> None:
        if self.join_from not in ("snapshot", "genesis"):
            raise ValueError(f"join_from is snapshot or genesis, got {self.join_from!r}")
        if not 1 <= self.concurrency <= 64:
            raise ValueError(f"membership concurrency must be within 1..64, got {self.concurrency}")
        if not 1 <= self.lines <= 9:
            raise ValueError(f"an invoice has 1 to 9 lines here, got {self.lines}")
        if self.warmup_s < 0 or self.quiet_s <= 0:
            raise ValueError(f"bad membership windows: warmup {self.warmup_s}, quiet {self.quiet_s}")

    def estimated_seconds(self, join_s: float = 60.0) -> float:
        """Wall time of the suite, network included, for a join of ``join_s``."""
        return SETUP_SECONDS + self.warmup_s + join_s + LEAVE_SECONDS + self.quiet_s


@dataclass
class SubmitLog:
    """Every submit of the load: when it ended and whether it was accepted (thread-safe appends)."""

    ended: list[tuple[float, bool]] = field(default_factory=list)
    first_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, ended: float, ok: bool, error: BaseException | None = None) -> None:
        with self._lock:
            self.ended.append((ended, ok))
            if error is not None and self.first_error is None:
                self.first_error = f"{type(error).__name__}: {error}"

    def between(self, start: float, end: float) -> tuple[int, int]:
        """Submits that ended within ``[start, end]``: (accepted, failed)."""
        with self._lock:
            inside = [ok for at, ok in self.ended if start <= at <= end]
        return sum(inside), len(inside) - sum(inside)


class _Load:
    """``concurrency`` threads selling second invoices until stopped; every outcome in ``log``."""

    def __init__(self, distributor: Any, workload: Any, concurrency: int) -> None:
        self.log = SubmitLog()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._worker, args=(distributor, workload, lane), daemon=True)
            for lane in range(concurrency)
        ]

    def _worker(self, distributor: Any, workload: Any, lane: int) -> None:
        sequence = 0
        while not self._stop.is_set():
            invoice = workload.second_invoice(lane, sequence)
            sequence += 1
            try:
                distributor.issue_invoice(invoice)
            except Exception as exc:  # every failure is a data point, never the end of the run
                self.log.add(time.monotonic(), False, exc)
            else:
                self.log.add(time.monotonic(), True)

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _fabrx(*args: str, cwd: Path) -> str:
    """One ``fabrx`` command, as an admin's script runs it; its standard output.

    Raises:
        BenchError: the command failed (its output in the message).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("FABRX_RUN_DIR", "FABRX_CONFIG")}
    result = subprocess.run(
        [str(FABRX), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"fabrx {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


@dataclass(frozen=True)
class _CpuMark:
    """The machine's CPU counters and this suite's own CPU seconds at one moment."""

    at: float
    machine: Any  # bench.cpu.MachineCpu
    own_s: float


def _cpu_mark(deployment: Any) -> _CpuMark:
    """Sample the machine and the suite's own processes: this one with its threads and its children (the
    consortium's nodes, the commands it runs and ran), and HospitalD's nodes, which ``fabrx member up``
    left behind it."""
    pid = os.getpid()
    roots = {"bench": pid}
    for name, record in deployment.supervisor.processes.items():
        if deployment.supervisor.is_running(name):
            roots[name] = record.pid
    try:
        trees = cpu.trees_cpu_seconds(roots)
    except ProcessLookupError:  # a node stopped between the check and the scan
        trees = cpu.trees_cpu_seconds({"bench": pid})
    own = cpu.read_proc_stat(pid)
    waited = (own.cutime + own.cstime) / cpu.clock_ticks()
    return _CpuMark(time.monotonic(), cpu.machine_cpu(), sum(trees.values()) + waited)


def machine_share(start: _CpuMark, end: _CpuMark, cores: int) -> dict[str, float]:
    """How busy the machine was between two marks, and the share of its capacity other programs used."""
    busy = end.machine.busy_fraction_since(start.machine)
    capacity_s = max(end.at - start.at, 1e-9) * cores
    own = (end.own_s - start.own_s) / capacity_s
    return {"machine_busy": round(busy, 3), "foreign_fraction": round(max(busy - own, 0.0), 3)}


def _commands_cpu_s() -> float:
    """CPU seconds of the ``fabrx`` commands this process ran and waited for (the nodes are not its
    waited children, so they are not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Steps:
    """Seconds per named step, in order; and the CPU seconds of the ``fabrx`` commands of each step
    that ran alone (on a shared machine the wall time depends on the others, this does not)."""

    def __init__(self, progress: Progress) -> None:
        self.seconds: dict[str, float] = {}
        self.commands_cpu_s: dict[str, float] = {}
        self._progress = progress

    def run(self, name: str, action: Callable[[], Any], *, alone: bool = True) -> Any:
        started, cpu = time.monotonic(), _commands_cpu_s()
        result = action()
        self.seconds[name] = round(time.monotonic() - started, 2)
        if alone:
            self.commands_cpu_s[name] = round(_commands_cpu_s() - cpu, 2)
        self._progress(f"membership: {name} {self.seconds[name]:.2f} s")
        return result


def _member_file(up: UpNetwork, host: Path, port_base: int) -> Path:
    network = up.network
    orderer = network.consortium.orderer_org.orderers[0]
    shutil.copy(network.layout.ca_cert(network.consortium.orderer_org.name), host / "orderer-tls-ca.pem")
    pharma = next(c for c in network.consortium.chaincodes if c.name == "pharma")
    path = host / f"{MEMBER}.yaml"
    member = {
        "name": MEMBER,
        "msp_id": MEMBER_MSP,
        "role": "hospital",
        "host": MEMBER_HOST,
        "port_base": port_base,
        "peers": [{"name": "peer0"}],
        "channel": {
            "name": "pharma",
            "orderers": [
                {"address": f"{network.consortium.host}:{orderer.port}", "tls_ca_cert": "orderer-tls-ca.pem"}
            ],
        },
        "chaincodes": [
            {
                "name": "pharma",
                "version": pharma.version,
                "runtime": {"python": "fabrx_pharma_chaincode.contract:PharmaContract"},
            }
        ],
    }
    path.write_text(yaml.safe_dump(member, sort_keys=False), encoding="utf-8")
    return path


def _height(up: UpNetwork, org_name: str) -> int:
    network = up.network
    org = network.consortium.org(org_name)
    with network.peer_admin(org, org.peers[0]) as admin:
        return int(admin.chain_info("pharma").height)


def _member_peer_height(deployment: Any) -> int:
    """The member's peer's height of the channel, from its operations endpoint's metrics.

    Read there rather than through the peer's admin service: once the organization left the channel,
    the peer refuses its own admin's channel queries.
    """
    org = deployment.org
    layout = deployment.layout
    tls = layout.user_tls(org.name, "admin")
    context = ssl.create_default_context(cafile=str(layout.ca_cert(org.name)))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    url = f"https://{MEMBER_HOST}:{org.peers[0].operations_port}/metrics"
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith('ledger_blockchain_height{channel="pharma"}'):
            return int(float(line.split()[-1]))
    raise BenchError(f"{url} reports no height of the pharma channel")


def _join_peer(
    up: UpNetwork, host: Path, deployment: Any, steps: _Steps, join_from: str, member: Callable[..., str]
) -> None:
    """HospitalD's peer joins the channel: from the genesis block its own admin fetches from the orderer
    (the peer then pulls every block), or from a snapshot the regulator's peer writes after the block
    that added HospitalD, handed over as a folder (the peer pulls only the blocks after it)."""
    own_admin = host / "run" / "orgs" / MEMBER / "users" / "admin" / "msp"
    consortium = up.network.consortium
    if join_from == "genesis":
        orderer = consortium.orderer_org.orderers[0]
        steps.run("fetch", lambda: _fabrx(
            "channel", "fetch-block", "--number", "0", "-o", "pharma.block",
            "--msp-id", MEMBER_MSP, "--msp-dir", str(own_admin),
            "--orderer", f"{consortium.host}:{orderer.port}",
            "--orderer-tls-ca", "orderer-tls-ca.pem", cwd=host,
        ))  # fmt: skip
        steps.run("join", lambda: member("join", "--block", "pharma.block"))
        return
    from fabrx.admin import snapshot_path
    from fabrx_network.layout import peer_node

    config, run_dir = up.folder / "consortium.yaml", up.network.run_dir
    written = steps.run("snapshot", lambda: _fabrx(
        "--config", str(config), "--run-dir", str(run_dir), "--json",
        "channel", "snapshot", "--as", "Regulator", cwd=up.folder / "admins",
    ))  # fmt: skip
    number = int(json.loads(written)["block_number"])
    source = snapshot_path(
        up.network.layout.peer_snapshots(peer_node("Regulator", "peer0")), "pharma", number
    )
    handed = host / "snapshot" / str(number)
    steps.run("hand over", lambda: shutil.copytree(source, handed))
    peer = deployment.org.peers[0]
    steps.run("join", lambda: _fabrx(
        "channel", "join", "--snapshot", str(handed),
        "--msp-id", MEMBER_MSP, "--msp-dir", str(own_admin),
        "--peer", f"{MEMBER_HOST}:{peer.port}", "--peer-tls-ca", str(deployment.layout.ca_cert(MEMBER)),
        cwd=host,
    ))  # fmt: skip


def _wait_definition(deployment: Any, timeout: float = 120.0) -> None:
    """Wait until the member's peer, catching up after its join, has committed the pharma definition."""
    from fabrx.admin import query_committed
    from fabrx.errors import FabrxError

    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        peer = stack.enter_context(next(iter(deployment.peer_admins())))
        while True:
            try:
                if query_committed(peer, "pharma", "pharma"):
                    return
            except FabrxError:
                pass  # the peer has not processed the block that added its organization yet
            if time.monotonic() > deadline:
                raise BenchError(f"HospitalD's peer has no pharma definition after {timeout:g} s")
            time.sleep(0.2)


def _receipt_of(invoice: Any) -> Any:
    from fabrx_pharma import Receipt

    return Receipt(
        f"RCV-D-{str(invoice.number)[-10:]}",
        invoice.number,
        invoice.buyer,
        invoice.shipment.shipped_at + timedelta(hours=1),
        invoice.shipment.lines,
    )


def _until_discovered(action: Callable[[], object], timeout: float = 60.0) -> None:
    """Run ``action`` until it succeeds: the new peer learns the other peers through gossip first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except Exception:  # discovery has not converged yet; raised again after the timeout
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _refusal(action: Callable[[], object], what: str) -> str:
    """Run ``action``, which must be refused; the refusal's text.

    Raises:
        BenchError: it was accepted.
    """
    try:
        action()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:400]
    raise BenchError(f"after HospitalD left, {what} was accepted")


def membership_figures(
    *,
    join_s: float,
    steps: dict[str, float],
    log: SubmitLog,
    window: tuple[float, float],
    plan: MembershipPlan,
    commands_cpu: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The ``membership`` results section's join figures from the step times and the load's log."""
    accepted, failed = log.between(*window)
    total_failed = sum(1 for _, ok in log.ended if not ok)
    return {
        "join_s": round(join_s, 1),
        "submits_during_join": accepted,
        "failed_during_join": failed,
        "steps_s": dict(steps),
        "commands_cpu_s": dict(commands_cpu or {}),
        "concurrency": plan.concurrency,
        "lines_per_invoice": plan.lines,
        "join_from": plan.join_from,
        "submits_total": len(log.ended),
        "failed_total": total_failed,
        "first_error": log.first_error,
        "goals": dict(GOALS),
    }


def membership_suite(plan: MembershipPlan, *, progress: Progress = lambda _: None) -> dict[str, Any]:
    """HospitalD joins the default consortium under load and leaves it again; the ``membership`` section.

    Raises:
        BenchError: Fabric is missing, a network did not come up, a step failed, or a leave check
            failed (the message says which).
    """
    from fabrx.pharma import PharmaClients
    from fabrx_network.member import open_member
    from fabrx_pharma import Party, Role
    from fabrx_pharma.policy import CHINA_STANDARD_TIME
    from fabrx_pharma.sample import sample_uscc

    from .pharma_workload import PharmaWorkload

    workload = PharmaWorkload(
        manufacturer=MAKER,
        distributor=SELLER,
        hospital=BUYER,
        now=datetime.now(CHINA_STANDARD_TIME),
        lanes=plan.concurrency + 1,  # the last lane sells to HospitalD
        lines=plan.lines,
    )
    own_lane = plan.concurrency
    consortium = variant(load_template(DEFAULT_CONSORTIUM), port_base=plan.port_base)
    with running_network(consortium, label="membership", progress=progress) as up, _clients(up) as clients:
        _supply_chain(clients, workload, progress)
        admins, host = up.folder / "admins", up.folder / "hospitald-host"
        admins.mkdir()
        host.mkdir()
        config, run_dir = up.folder / "consortium.yaml", up.network.run_dir

        def admin(*args: str) -> str:
            return _fabrx("--config", str(config), "--run-dir", str(run_dir), *args, cwd=admins)

        member_file = _member_file(up, host, plan.port_base + MEMBER_PORT_OFFSET)

        def member(*args: str) -> str:
            return _fabrx("--run-dir", "run", "member", *args, "-f", str(member_file), cwd=host)

        started = time.monotonic()
        member("up")
        member_up_s = round(time.monotonic() - started, 1)
        progress(f"membership: HospitalD's deployment up in {member_up_s} s")
        deployment = open_member(member_file, host / "run")
        distributor = clients.distributor(SELLER)
        sales = [
            dataclasses.replace(workload.second_invoice(own_lane, n), buyer=MEMBER_MSP) for n in range(3)
        ]
        party = Party(MEMBER_MSP, Role.HOSPITAL, "hospital D", sample_uscc("12", "350100", "48830002"))

        def register_and_sell() -> None:
            _retrying(lambda: clients.regulator.register_party(party))
            _retrying(lambda: distributor.issue_invoice(sales[0]))

        try:
            with _Load(distributor, workload, plan.concurrency) as load:
                time.sleep(plan.warmup_s)
                steps = _Steps(progress)
                window_start = time.monotonic()
                mark = _cpu_mark(deployment)
                shutil.copy(deployment.join_request_file, admins / f"{MEMBER}.json")
                steps.run("add-org", lambda: admin(
                    "channel", "update", "add-org", "--as", "Regulator", "--request", f"{MEMBER}.json",
                    "-o", "add.pb",
                ))  # fmt: skip
                steps.run("sign", lambda: _sign_all(admin, "add"))
                steps.run("submit", lambda: _submit(admin, "add"))
                # The regulator registers HospitalD and DistributorA sells to it while HospitalD's admin
                # joins its peer: neither needs the other.
                with ThreadPoolExecutor(1) as beside:
                    sold = beside.submit(
                        steps.run, "register and sell (beside the next steps)", register_and_sell, alone=False
                    )
                    _join_peer(up, host, deployment, steps, plan.join_from, member)
                    # The approval waits until HospitalD's peer committed it, so it includes the catch-up
                    # with the channel; it can start once the peer has the chaincode's definition.
                    steps.run("definition", lambda: _wait_definition(deployment))
                    steps.run("approve and catch-up", lambda: member("approve"))
                    sold.result()
                with PharmaClients(deployment) as own:
                    hospital = own.hospital(MEMBER_MSP)
                    steps.run("receipt", lambda: _until_discovered(
                        lambda: hospital.record_receipt(_receipt_of(sales[0]))
                    ))  # fmt: skip
                    window_end = time.monotonic()
                    share = machine_share(mark, _cpu_mark(deployment), os.cpu_count() or 1)
                    join_s = window_end - window_start
                    progress(f"membership: join request to first accepted receipt {join_s:.1f} s")
                    # A second sale, which HospitalD receives only after it left.
                    _retrying(lambda: distributor.issue_invoice(sales[1]))
                    leave = _leave(up, clients, deployment, hospital, admin, sales, plan, progress)
            # The load has stopped: the regulator reads the departed member's history.
            leave.update(_history(clients, sales[0], progress))
            figures = membership_figures(
                join_s=join_s,
                steps=steps.seconds,
                commands_cpu=steps.commands_cpu_s,
                log=load.log,
                window=(window_start, window_end),
                plan=plan,
            )
        except BenchError:
            raise
        except Exception as exc:  # a refused or failed step: the suite's error names it
            raise BenchError(f"membership: {type(exc).__name__}: {exc}") from exc
        finally:
            member("down")
    return {"membership": {**figures, **share, "member_up_s": member_up_s, "leave": leave}}


def _sign_all(admin: Callable[..., str], name: str) -> None:
    """The majority's admins sign ``name``.pb at the same time, each writing its signature file."""
    with ThreadPoolExecutor(len(MAJORITY)) as pool:
        list(
            pool.map(
                lambda org: admin(
                    "channel", "update", "sign", f"{name}.pb", "--as", org, "-o", f"{name}-{org}.sig"
                ),
                MAJORITY,
            )
        )


def _submit(admin: Callable[..., str], name: str) -> None:
    signatures = [f"{name}-{org}.sig" for org in MAJORITY]
    admin("channel", "update", "submit", f"{name}.pb", *signatures, "--as", "Regulator")


def _leave(
    up: UpNetwork,
    clients: Any,
    deployment: Any,
    hospital: Any,
    admin: Callable[..., str],
    sales: list[Any],
    plan: MembershipPlan,
    progress: Progress,
) -> dict[str, Any]:
    """Remove HospitalD and check what a departed member can and cannot do; the ``leave`` figures.

    Raises:
        BenchError: a check failed.
    """
    started = time.monotonic()
    admin("channel", "update", "remove-org", "--as", "Regulator", "--org", MEMBER_MSP, "-o", "rm.pb")
    _sign_all(admin, "rm")
    _submit(admin, "rm")
    _retrying(lambda: clients.regulator.set_party_active(MEMBER_MSP, False))
    leave_s = round(time.monotonic() - started, 1)
    progress(f"membership: HospitalD removed and inactive in {leave_s} s")
    own_refused = _refusal(lambda: hospital.record_receipt(_receipt_of(sales[1])), "HospitalD's own receipt")
    sale_refused = _refusal(
        lambda: clients.distributor(SELLER).issue_invoice(sales[2]), "an invoice to HospitalD"
    )
    # Refused by the other peers as not a member, or by its own peer once it has the block that removed
    # it (it knows no endorser for HospitalD any more).
    own_expected = ("AccessRefused: ROLE submitter", "failed to find any endorsing peers")
    if not any(text in own_refused for text in own_expected):
        raise BenchError(f"after HospitalD left, its own receipt was refused otherwise: {own_refused}")
    if "PARTY_INACTIVE" not in sale_refused:
        raise BenchError(f"after HospitalD left, an invoice to it was refused otherwise: {sale_refused}")
    # The block that removed HospitalD may still reach its peer; none after it may.
    time.sleep(2.0)
    member_height = _member_peer_height(deployment)
    channel_before = _height(up, "Regulator")
    time.sleep(plan.quiet_s)
    channel_after = _height(up, "Regulator")
    member_after = _member_peer_height(deployment)
    if channel_after <= channel_before:
        raise BenchError(f"the channel did not grow while HospitalD was gone ({channel_before} blocks)")
    if member_after != member_height:
        raise BenchError(f"HospitalD's peer went from {member_height} to {member_after} blocks after it left")
    progress(
        f"membership: after leaving, HospitalD's peer stayed at {member_height} blocks while the channel "
        f"grew from {channel_before} to {channel_after}"
    )
    return {
        "leave_s": leave_s,
        "own_submit_refused": own_refused,
        "invoice_to_member_refused": sale_refused,
        "member_peer_height": member_height,
        "channel_height": [channel_before, channel_after],
    }


def _history(clients: Any, sale: Any, progress: Progress) -> dict[str, Any]:
    """The departed member's trade, read by the distributor and the regulator; the compliance report.

    Raises:
        BenchError: a read differs, or the report failed otherwise than by outlasting the evaluate
            deadline (a whole-ledger report on a large ledger belongs to the supervision store).
    """
    from fabrx.errors import FabrxError

    regulator = clients.regulator
    for reader, client in (("regulator", regulator), ("distributor", clients.distributor(SELLER))):
        if client.read_invoice(str(sale.number)) != sale:
            raise BenchError(f"the {reader} reads HospitalD's invoice differently after it left")
    started = time.monotonic()
    try:
        findings = len(regulator.compliance_report())
        deadline_note = None
    except FabrxError as exc:
        if "DEADLINE_EXCEEDED" not in str(exc):
            raise BenchError(f"the compliance report failed after HospitalD left: {exc}") from exc
        # The facade's evaluate deadline (5 s) is shorter than a whole-ledger report on this ledger;
        # the same transaction with a longer one shows whether the report itself works.
        from fabrx.pharma._results import parse_findings

        deadline_note = f"over the client's 5 s evaluate deadline; given {REPORT_TIMEOUT_S:g} s"
        started = time.monotonic()
        contract = clients.gateway(REGULATOR).get_network("pharma").get_contract("pharma")
        try:
            findings = len(
                parse_findings(contract.evaluate_transaction("compliance_report", timeout=REPORT_TIMEOUT_S))
            )
        except FabrxError as again:
            raise BenchError(f"the compliance report failed after HospitalD left: {again}") from again
    report_s = round(time.monotonic() - started, 1)
    progress(
        f"membership: HospitalD's trade still read; compliance report in {report_s} s, {findings} findings"
        + (f" ({deadline_note})" if deadline_note else "")
    )
    return {
        "history_read": True,
        "compliance_report_s": report_s,
        "findings": findings,
        "compliance_report_note": deadline_note,
    }
