"""The service suite: a member's HTTP service (``fabrx serve``) against the SDK, same network, same run.

On the default consortium (``network/consortium.yaml``, the pharma chaincode with its private data and
its real endorsement policy), the suite records the supply chain through the SDK, starts
``fabrx serve`` for DistributorA and for HospitalA as their own processes (as a member runs them), each
with one registered ERP application (ECDSA P-256), and then measures, in turns, two ways of doing the
same work from the bench process:

* **submit**: DistributorA issues a second invoice with its shipment (``lines`` lines) to HospitalA,
  either through :class:`fabrx.pharma.Distributor` directly (``sdk``) or as a signed
  ``POST /v1/invoices`` with an ``Idempotency-Key`` (``service``: RFC 9421 signature made in the
  bench process, verified, nonce and idempotency record kept by the service, the same facade behind);
* **verify**: HospitalA verifies one of those invoices with the first-invoice copy its seller handed
  over, through :meth:`fabrx.pharma.Hospital.verify_invoices` or a signed ``POST /v1/verifications``.

Each ERP thread keeps its own HTTPS connection to the service (keep-alive), as an ERP's HTTP client
does. Throughput is compared at C=32 (closed loop, one thread per transaction in flight), latency at
C=1 (where the p50 difference is the service's own time, not queueing); each figure is the median of
``rounds`` windows, the two paths taking turns so that the machine's drift does not favour one.
Goals: the service keeps at least 0.9 of the SDK's rate, and adds at most 5 ms to the p50 latency.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from . import cpu
from .benchnet import DEFAULT_CONSORTIUM, UpNetwork, load_template, running_network, variant
from .load import LoopOutcome
from .runner import BenchError
from .stats import summarize_latencies
from .threaded import threaded_loop

__all__ = [
    "GOALS",
    "SERVICE_PORT_BASE",
    "ServicePlan",
    "Window",
    "service_figures",
    "service_suite",
]

# Clear of every other suite's ports and above Linux's ephemeral ports (see bench/__main__.py); the
# two services listen just below the network's allocation table.
SERVICE_PORT_BASE = 62550
SELLER, BUYER, MAKER = "DistributorAMSP", "HospitalAMSP", "ManufacturerMSP"
GOALS = {"submit_ratio_c32": 0.9, "verify_ratio_c32": 0.9, "p50_overhead_ms": 5.0}
# Network up, supply chain recorded, two services started, teardown: about 60 s on the 2-core machine.
SETUP_SECONDS = 60.0
# Seconds a window costs beyond warmup and measurement: starting and draining the threads.
WINDOW_OVERHEAD_S = 1.0
SERVICE_START_TIMEOUT_S = 120.0
ALGORITHM = "ecdsa-p256-sha256"

Mode = Literal["submit", "verify"]
Path_ = Literal["sdk", "service"]
MODES: tuple[Mode, ...] = ("submit", "verify")
PATHS: tuple[Path_, ...] = ("sdk", "service")
Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class ServicePlan:
    """Concurrencies, window lengths, rounds and invoice size of the service suite."""

    concurrency: int = 32
    latency_concurrency: int = 1
    duration_s: float = 5.0
    """Measured seconds of one window."""
    warmup_s: float = 1.5
    rounds: int = 3
    lines: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.latency_concurrency <= self.concurrency <= 999:
            raise ValueError(
                f"service concurrencies must satisfy 1 <= latency ({self.latency_concurrency}) <= "
                f"throughput ({self.concurrency}) <= 999"
            )
        if self.rounds < 1 or self.duration_s <= 0 or self.warmup_s < 0:
            raise ValueError(
                f"bad service plan: {self.rounds} rounds of {self.duration_s} s after {self.warmup_s} s"
            )
        if not 1 <= self.lines <= 9:
            raise ValueError(f"an invoice has 1 to 9 lines here, got {self.lines}")

    @property
    def concurrencies(self) -> tuple[int, ...]:
        return tuple(sorted({self.latency_concurrency, self.concurrency}))

    def windows(self) -> int:
        """How many measured windows the suite runs."""
        return len(MODES) * len(PATHS) * len(self.concurrencies) * self.rounds

    def estimated_seconds(self) -> float:
        """Wall time of the suite, network and services included."""
        return SETUP_SECONDS + self.windows() * (self.warmup_s + self.duration_s + WINDOW_OVERHEAD_S)


@dataclass(frozen=True)
class Window:
    """One measured window of one path: its outcome, CPU per process and the machine's other load."""

    mode: Mode
    path: Path_
    concurrency: int
    round: int
    outcome: LoopOutcome
    cpu_s: Mapping[str, float] = field(default_factory=dict)
    """CPU seconds each watched process (with its children) used during the window."""
    foreign_fraction: float = 0.0
    """Share of the whole machine used by programs outside the benchmark during the window (0-1)."""

    @property
    def tps(self) -> float:
        elapsed = self.outcome.elapsed_s
        return round(len(self.outcome.latencies_ms) / elapsed, 1) if elapsed > 0 else 0.0

    @property
    def p50_ms(self) -> float | None:
        return summarize_latencies(self.outcome.latencies_ms)["p50"]

    def detail(self) -> dict[str, Any]:
        count = len(self.outcome.latencies_ms)
        return {
            "mode": self.mode,
            "path": self.path,
            "concurrency": self.concurrency,
            "round": self.round,
            "tps": self.tps,
            "count": count,
            "errors": self.outcome.errors,
            "first_error": self.outcome.first_error,
            "latency_ms": summarize_latencies(self.outcome.latencies_ms),
            "cpu_ms_per_tx": {
                name: round(seconds * 1000 / count, 2) if count else None
                for name, seconds in self.cpu_s.items()
            },
            "foreign_fraction": round(self.foreign_fraction, 3),
        }


def _median(windows: Sequence[Window], key: Callable[[Window], float]) -> Window:
    ordered = sorted(windows, key=key)
    return ordered[(len(ordered) - 1) // 2]


def service_figures(
    windows: Sequence[Window], *, concurrency: int, latency_concurrency: int
) -> dict[str, Any]:
    """The ``service`` results section from the measured windows.

    Throughput per (mode, path) is the median window at ``concurrency``; latency the median p50 of the
    windows at ``latency_concurrency``. ``p50_overhead_ms`` is the larger of the submit and verify
    overheads (service p50 minus SDK p50 at ``latency_concurrency``).

    Raises:
        ValueError: a (mode, path, concurrency) has no window.
    """
    picked: dict[str, dict[str, dict[str, Any]]] = {}
    medians: dict[tuple[str, str, int], Window] = {}
    for mode in MODES:
        for path in PATHS:
            for c in sorted({concurrency, latency_concurrency}):
                group = [w for w in windows if (w.mode, w.path, w.concurrency) == (mode, path, c)]
                if not group:
                    raise ValueError(f"no {mode} window through the {path} at C={c}")
                by_rate = _median(group, lambda w: w.tps)
                by_p50 = _median(group, lambda w: w.p50_ms if w.p50_ms is not None else float("inf"))
                medians[(mode, path, c)] = by_rate
                picked.setdefault(mode, {}).setdefault(path, {})[f"c{c}"] = {
                    "tps": by_rate.tps,
                    "p50_ms": by_p50.p50_ms,
                    "p95_ms": summarize_latencies(by_p50.outcome.latencies_ms)["p95"],
                    "errors": sum(w.outcome.errors for w in group),
                }

    def ratio(mode: str) -> float | None:
        sdk = picked[mode]["sdk"][f"c{concurrency}"]["tps"]
        return round(picked[mode]["service"][f"c{concurrency}"]["tps"] / sdk, 3) if sdk else None

    def overhead(mode: str, c: int) -> float | None:
        service, sdk = picked[mode]["service"][f"c{c}"]["p50_ms"], picked[mode]["sdk"][f"c{c}"]["p50_ms"]
        return None if service is None or sdk is None else round(service - sdk, 2)

    overheads = {mode: overhead(mode, latency_concurrency) for mode in MODES}
    known = [value for value in overheads.values() if value is not None]
    cpu_per_tx = {
        mode: {path: medians[(mode, path, concurrency)].detail()["cpu_ms_per_tx"] for path in PATHS}
        for mode in MODES
    }
    return {
        f"submit_ratio_c{concurrency}": ratio("submit"),
        f"verify_ratio_c{concurrency}": ratio("verify"),
        "p50_overhead_ms": max(known) if known else None,
        "p50_overhead_ms_by_mode": overheads,
        f"p50_overhead_ms_c{concurrency}": {mode: overhead(mode, concurrency) for mode in MODES},
        "concurrency": concurrency,
        "latency_concurrency": latency_concurrency,
        "goals": dict(GOALS),
        "rates": picked,
        "cpu_ms_per_tx": cpu_per_tx,
        "foreign_fraction_max": round(max((w.foreign_fraction for w in windows), default=0.0), 3),
        "foreign_fraction_mean": round(
            sum(w.foreign_fraction for w in windows) / len(windows) if windows else 0.0, 3
        ),
    }


# --- the services ----------------------------------------------------------------------------------------


@dataclass
class RunningService:
    """One member's ``fabrx serve`` process and the ERP application registered with it."""

    org: str
    url: str
    ca: Path
    pid: int
    app_id: str
    private_key: Any
    _clients: dict[int, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self, worker: int) -> Any:
        # One kept-alive HTTPS connection per ERP thread, as an ERP's HTTP client pool keeps them.
        import httpx2

        with self._lock:
            client = self._clients.get(worker)
            if client is None:
                context = ssl.create_default_context(cafile=str(self.ca))
                # Kept open across the pauses between windows, within the service's keep-alive.
                client = httpx2.Client(verify=context, timeout=120, limits=httpx2.Limits(keepalive_expiry=50))
                self._clients[worker] = client
            return client

    def post(self, worker: int, path: str, body: bytes, *, idempotency_key: str | None = None) -> Any:
        """Sign and send one POST; return the JSON answer.

        Raises:
            BenchError: the service answered other than 200/201.
        """
        from fabrx_pharma_service import sign_request

        url = self.url + path
        headers = {"Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(
            sign_request(
                "POST",
                url,
                headers,
                body,
                key_id=self.app_id,
                private_key=self.private_key,
                algorithm=ALGORITHM,
            )
        )
        answer = self._client(worker).post(url, content=body, headers=headers)
        if answer.status_code not in (200, 201):
            raise BenchError(f"{self.org}'s service answered {answer.status_code}: {answer.text[:300]}")
        return answer.json()

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _fabrx_command(up: UpNetwork, org: str, state_dir: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "fabrx"),
        "--config",
        str(up.folder / "consortium.yaml"),
        "--run-dir",
        str(up.network.run_dir),
        "serve",
        "--org",
        org,
        "--state-dir",
        str(state_dir),
    ]


def _register(state_dir: Path, org_role: str, app_id: str) -> Any:
    """Register an ECDSA P-256 application in the service's files; return its private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from fabrx_pharma_service import Application, ApplicationRegistry, ServiceFiles

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files = ServiceFiles(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ApplicationRegistry(files.applications).add(
        Application.new(app_id, role=org_role, identity="client", public_key_pem=public, algorithm=ALGORITHM)
    )
    return key


@contextmanager
def _served(up: UpNetwork, org_name: str, port: int, root: Path) -> Iterator[RunningService]:
    """``fabrx serve --org org_name`` on ``port`` until its health check answers; stopped on leaving."""
    import httpx2

    from fabrx_pharma_service import ServiceFiles

    org = up.network.consortium.org(org_name)
    state_dir = root / org_name
    app_id = f"bench-erp-{org_name}"
    key = _register(state_dir, str(getattr(org.role, "value", org.role)), app_id)
    log = (root / f"{org_name}.log").open("wb")
    process = subprocess.Popen(
        [*_fabrx_command(up, org_name, state_dir), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    service = RunningService(
        org=org_name,
        url=f"https://127.0.0.1:{port}",
        ca=ServiceFiles(state_dir).tls.certificate,
        pid=process.pid,
        app_id=app_id,
        private_key=key,
    )
    try:
        deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise BenchError(f"fabrx serve --org {org_name} exited: {_tail(root / f'{org_name}.log')}")
            if service.ca.exists():
                try:
                    context = ssl.create_default_context(cafile=str(service.ca))
                    with httpx2.Client(verify=context) as client:
                        if client.get(service.url + "/v1/health").status_code == 200:
                            break
                except httpx2.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise BenchError(
                    f"fabrx serve --org {org_name} did not answer within {SERVICE_START_TIMEOUT_S} s"
                )
            time.sleep(0.2)
        yield service
    finally:
        service.close()
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _tail(path: Path, limit: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


# --- measuring -------------------------------------------------------------------------------------------


class _Work:
    """The four operations (submit and verify, through the SDK and the service) over one workload."""

    def __init__(
        self, clients: Any, workload: Any, distributor: RunningService, hospital: RunningService
    ) -> None:
        self._distributor = clients.distributor(SELLER)
        self._hospital = clients.hospital(BUYER)
        self._workload = workload
        self._services = {"distributor": distributor, "hospital": hospital}
        lanes = len(workload.lanes)
        self._sold = [0] * lanes  # the next invoice of each lane; only the lane's own thread touches it
        self._issued: list[list[str]] = [[] for _ in range(lanes)]  # numbers committed, per lane
        self._checked = [0] * lanes

    def _next_invoice(self, worker: int) -> Any:
        number = self._sold[worker]
        self._sold[worker] += 1
        return self._workload.second_invoice(worker, number)

    def submit_sdk(self, worker: int, _sequence: int) -> object:
        invoice = self._next_invoice(worker)
        anchor = self._distributor.issue_invoice(invoice)
        self._issued[worker].append(str(invoice.number))
        return anchor

    def submit_service(self, worker: int, _sequence: int) -> object:
        invoice = self._next_invoice(worker)
        number = str(invoice.number)
        body = json.dumps(invoice.to_dict(), ensure_ascii=False).encode()
        anchor = self._services["distributor"].post(worker, "/v1/invoices", body, idempotency_key=number)
        self._issued[worker].append(number)
        return anchor

    def _to_verify(self, worker: int) -> tuple[str, Any]:
        issued = self._issued[worker] or [n for lane in self._issued for n in lane]
        if not issued:
            raise BenchError("no invoice was issued to verify")
        number = issued[self._checked[worker] % len(issued)]
        self._checked[worker] += 1
        return number, self._workload.lanes[worker].first_invoice

    def verify_sdk(self, worker: int, _sequence: int) -> object:
        number, first = self._to_verify(worker)
        return self._hospital.verify_invoices({number: [first]})

    def verify_service(self, worker: int, _sequence: int) -> object:
        number, first = self._to_verify(worker)
        body = json.dumps(
            {"invoices": [{"number": number, "first_invoices": [first.to_dict()]}]}, ensure_ascii=False
        ).encode()
        return self._services["hospital"].post(worker, "/v1/verifications", body)

    def operation(self, mode: Mode, path: Path_) -> Callable[[int, int], object]:
        operation: Callable[[int, int], object] = getattr(self, f"{mode}_{path}")
        return operation

    def check_verification_agrees(self) -> None:
        """Both paths answer the same verification of the same invoice (before anything is timed).

        Raises:
            BenchError: they differ, or the invoice is not genuine.
        """
        from fabrx_pharma_service.results import jsonable

        direct = jsonable(self.verify_sdk(0, 0))
        served = self.verify_service(0, 0)
        self._checked[0] = 0
        if served != direct:
            raise BenchError(f"the SDK and the service disagree on a verification: {direct} / {served}")
        if not direct or not direct[0]["genuine"]:
            raise BenchError(f"the benchmark's invoice did not verify as genuine: {direct}")


WATCHED = {
    "peer DistributorA": "peer0.DistributorA",
    "peer HospitalA": "peer0.HospitalA",
    "peer Regulator": "peer0.Regulator",
    "orderer": "orderer0.Orderer",
    "chaincode pharma DistributorA": "chaincode.pharma.DistributorA",
    "chaincode pharma HospitalA": "chaincode.pharma.HospitalA",
    "chaincode pharma Regulator": "chaincode.pharma.Regulator",
}
"""The processes whose CPU per transaction is reported (label: node of the network), with the services."""


def _processes(up: UpNetwork, services: Sequence[RunningService]) -> tuple[dict[str, int], dict[str, str]]:
    """Every process of the run by key (the network's nodes and the services), and the reported labels
    with the key each reads."""
    pids = {name: process.pid for name, process in up.network.supervisor.processes.items()}
    labels = {label: node for label, node in WATCHED.items() if node in pids}
    for service in services:
        key = f"service {service.org}"
        pids[key] = service.pid
        labels[key] = key
    return pids, labels


def _measure(
    work: _Work,
    plan: ServicePlan,
    everything: Mapping[str, int],
    labels: Mapping[str, str],
    progress: Progress,
) -> list[Window]:
    windows: list[Window] = []
    for mode in MODES:
        for concurrency in (plan.concurrency, plan.latency_concurrency):
            for round_ in range(plan.rounds):
                # The paths take turns, each round starting with the other one.
                order = PATHS if round_ % 2 == 0 else PATHS[::-1]
                for path in order:
                    marks: list[tuple[dict[str, float], cpu.MachineCpu]] = []

                    def sample(marks: list[tuple[dict[str, float], cpu.MachineCpu]] = marks) -> None:
                        # The ERP threads and the SDK clients run in this process (all its threads).
                        trees = cpu.trees_cpu_seconds(everything)
                        marks.append(({**trees, "bench process": time.process_time()}, cpu.machine_cpu()))

                    outcome = threaded_loop(
                        work.operation(mode, path),
                        concurrency=concurrency,
                        duration_s=plan.duration_s,
                        warmup_s=plan.warmup_s,
                        on_window_edge=sample,
                    )
                    (before, machine_before), (after, machine_after) = marks
                    used = {name: after[name] - before[name] for name in before}
                    ticks = machine_after.total - machine_before.total
                    busy_s = (machine_after.busy - machine_before.busy) / cpu.clock_ticks()
                    capacity_s = ticks / cpu.clock_ticks()
                    ours_s = sum(used.values())
                    foreign = max(0.0, busy_s - ours_s) / capacity_s if capacity_s > 0 else 0.0
                    shown = {label: used[key] for label, key in labels.items()}
                    shown["bench process"] = used["bench process"]
                    window = Window(mode, path, concurrency, round_, outcome, shown, foreign)
                    windows.append(window)
                    errors = f", {outcome.errors} errors ({outcome.first_error})" if outcome.errors else ""
                    progress(
                        f"service {mode} via {path} C={concurrency} round {round_ + 1}/{plan.rounds}: "
                        f"{window.tps} tx/s, p50 {window.p50_ms} ms, {foreign:.0%} foreign{errors}"
                    )
    return windows


def service_suite(
    plan: ServicePlan, *, port_base: int = SERVICE_PORT_BASE, progress: Progress = lambda _: None
) -> dict[str, Any]:
    """Bring up the default consortium, record the supply chain, start two services, measure both paths.

    Returns ``{"service": figures, "details": {"service": [each window]}}`` (see
    :func:`service_figures`).

    Raises:
        BenchError: Fabric is missing, the network or a service did not come up, or setting up the
            supply chain was refused.
    """
    from fabrx.pharma import PharmaClients
    from fabrx_pharma.policy import CHINA_STANDARD_TIME

    from .pharma import _supply_chain
    from .pharma_workload import PharmaWorkload

    workload = PharmaWorkload(
        manufacturer=MAKER,
        distributor=SELLER,
        hospital=BUYER,
        now=datetime.now(CHINA_STANDARD_TIME),
        lanes=plan.concurrency,
        lines=plan.lines,
    )
    consortium = variant(load_template(DEFAULT_CONSORTIUM), port_base=port_base)
    root = Path(tempfile.mkdtemp(prefix="fabrx-bench-service-"))
    root.chmod(0o700)
    try:
        with ExitStack() as stack:
            up = stack.enter_context(running_network(consortium, label="service", progress=progress))
            clients = stack.enter_context(PharmaClients(up.network))
            try:
                _supply_chain(clients, workload, progress)
            except Exception as exc:
                raise BenchError(
                    f"recording the pharma supply chain failed: {type(exc).__name__}: {exc}"
                ) from exc
            distributor = stack.enter_context(_served(up, "DistributorA", port_base - 2, root))
            hospital = stack.enter_context(_served(up, "HospitalA", port_base - 1, root))
            progress(
                f"service: DistributorA's and HospitalA's services up ({distributor.url}, {hospital.url})"
            )
            work = _Work(clients, workload, distributor, hospital)
            # Something to verify before the verify windows: one invoice per lane, through the SDK.
            for lane in range(len(workload.lanes)):
                work.submit_sdk(lane, 0)
            work.check_verification_agrees()
            everything, labels = _processes(up, (distributor, hospital))
            windows = _measure(work, plan, everything, labels, progress)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures = service_figures(
        windows, concurrency=plan.concurrency, latency_concurrency=plan.latency_concurrency
    )
    return {"service": figures, "details": {"service": [w.detail() for w in windows]}}
