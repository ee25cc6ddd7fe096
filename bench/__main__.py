"""``make bench`` (``python -m bench``, from the repository root): run the suites, record the figures.

::

    python -m bench                                   # the default suites: network, client, chaincode, scale,
                                                      # membership, projection
    python -m bench --suite projection --projection-lines 1000000,10000000 --budget-min 90   # 10M lines too
    python -m bench --suite pharma                    # invoices against a bare write (not in the default)
    python -m bench --suite service                   # the member's HTTP service against the SDK
    python -m bench --suite blockcutting              # the batch-timeout suite (not in the default)
    python -m bench --suite client,chaincode --network running.json   # on a network already running
    python -m bench --suite client --clients fabrx --concurrency 1,128 --duration 4

Suites: ``network`` (``fabrx network up`` timings on the default consortium, bench/netup.py),
``client`` and ``chaincode`` (on the bench network, ``bench/consortium.yaml``, brought up with
fabrx_network unless ``--network`` describes a running one), ``scale`` (invoice lines per second, one
and many invoices per transaction, with thousands of hosted parties, and a hosted party's join, on the
default consortium, bench/scale.py), ``membership`` (a hospital joins the default consortium from its
own deployment while the others submit, then leaves; bench/membership.py), ``pharma`` (second invoices
against a bare write, bench/pharma.py; about 1.4 minutes, so only when named), ``blockcutting`` (one
bench network per batch timeout, bench/blockcutting.py; about two minutes, so only when named),
``service`` (submits and verifications through ``fabrx serve`` against the SDK on the same network,
bench/service.py) and ``projection`` (the supervision store at provincial scale on SQLite and
PostgreSQL, no network, bench/projection.py).

Figures are merged into ``bench/results.json`` and each suite's section of ``docs/benchmarks.md`` is
replaced, with the command, date and machine. The default suites must stay under 30 minutes on a
2-core machine (each suite estimates its own wall time, :func:`estimate_seconds` adds them up):
76 client and chaincode runs of 1.5 s warmup + a 2.3 or 7 s window (about 6 minutes; the clients take
turns in three rounds at each concurrency), 3 network runs (about 1.2 minutes), the scale suite (two
consortiums, about 3 minutes), the membership suite (about 3 minutes), the service suite (24 windows,
about 4 minutes) and network set-up;
``--dry-run`` prints the estimate, and a plan over the budget is refused; ``--budget-min`` raises the
budget for a long run named on purpose (``--projection-lines 1000000,10000000``: about an hour).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .benchnet import (
    BENCH_CONSORTIUM,
    bench_description,
    describe_bench_network,
    load_template,
    running_network,
    variant,
)
from .blockcutting import BATCH_TIMEOUTS, SAMPLE_TIMEOUT, BlockCuttingPlan, blockcutting_suite
from .machine import machine_info
from .membership import MembershipPlan, membership_suite
from .netup import FRESH_RUNS, NETWORK_PORT_BASE, SECONDS_PER_RUN, network_suite
from .network import BenchNetwork, load_network
from .pharma import PHARMA_PORT_BASE, PharmaPlan, pharma_suite
from .projection import ProjectionPlan, keep_other_backends, projection_suite, render_projection_section
from .projection_lag import LagPlan
from .render import render_chaincode_section, render_client_section
from .render_suites import (
    render_blockcutting_section,
    render_membership_section,
    render_network_section,
    render_pharma_section,
    render_scale_section,
    render_service_section,
)
from .report import update_docs, update_results
from .runner import CLIENTS, BenchError, QuietRunner
from .scale import PROVINCE_PORT_BASE, SCALE_PORT_BASE, ScalePlan, scale_suite
from .service import SERVICE_PORT_BASE, ServicePlan, service_suite
from .suites import RUN_OVERHEAD_S, Plan, chaincode_suite, client_suite, new_run_prefix

REPO_ROOT = Path(__file__).resolve().parent.parent
TIME_BUDGET_S = 30 * 60
SUITES = (
    "network",
    "client",
    "chaincode",
    "pharma",
    "scale",
    "membership",
    "service",
    "blockcutting",
    "projection",
)
DEFAULT_SUITES = ("network", "client", "chaincode", "scale", "membership", "service", "projection")
# Bringing the bench network up and purging it (measured 9 s up).
BENCH_NETWORK_SECONDS = 12.0
# The bench network's ports: clear of the default consortium (7050+), the integration suite (37050+),
# and above Linux's ephemeral range (32768-60999), from which every outgoing connection takes its local
# port: a listener there collides now and then with a connection (even one in TIME_WAIT).
BENCH_PORT_BASE = 61050


@contextlib.contextmanager
def bench_network(*, batch_timeout: str = "20ms", port_base: int = BENCH_PORT_BASE) -> Iterator[BenchNetwork]:
    """Bring up ``bench/consortium.yaml`` with fabrx_network, yield its description, purge it afterwards.

    The network (1 Raft orderer, 2 orgs x 1 peer, TLS, LevelDB, the ``asset-py`` and ``asset-node``
    chaincodes as services, OR endorsement) runs from a fresh folder under the system temp dir, on
    ports from ``port_base``; it is taken down and deleted on the way out, also after a failure.

    Raises:
        BenchError: Fabric is not installed or the network did not come up.
    """
    consortium = variant(load_template(BENCH_CONSORTIUM), port_base=port_base, batch_timeout=batch_timeout)
    with running_network(consortium, label="bench", progress=_progress) as up:
        _progress(f"bench: network up in {up.seconds:.1f} s ({up.folder})")
        yield describe_bench_network(up, description=bench_description(batch_timeout))


def _progress(message: str) -> None:
    # The orchestrator is a command, not library code: progress goes to standard error.
    print(message, file=sys.stderr, flush=True)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--network", type=Path, help="JSON description of an already running network (client, chaincode)"
    )
    parser.add_argument(
        "--suite",
        default="all",
        help=f"comma-separated, of: {', '.join(SUITES)}; 'all' (default) = {','.join(DEFAULT_SUITES)}",
    )
    parser.add_argument(
        "--clients", default=",".join(CLIENTS), help="comma-separated, of: " + ", ".join(CLIENTS)
    )
    parser.add_argument("--concurrency", default="1,8,32,128", help="comma-separated concurrencies")
    parser.add_argument(
        "--duration",
        type=float,
        default=Plan.duration_s,
        help="measured time per figure, seconds (the client suite splits it over its rounds)",
    )
    parser.add_argument("--warmup", type=float, default=1.5, help="warmup before each window, seconds")
    parser.add_argument("--client-chaincode", default="node", help="chaincode the client suite loads")
    parser.add_argument("--chaincodes", default="fabrx,node", help="chaincodes the chaincode suite compares")
    parser.add_argument("--chaincode-client", default="node_openssl", choices=CLIENTS)
    parser.add_argument(
        "--network-runs", type=int, default=FRESH_RUNS, help="fresh `up` runs of the network suite"
    )
    parser.add_argument(
        "--pharma-concurrency",
        default=",".join(map(str, PharmaPlan.concurrencies)),
        help="comma-separated concurrencies of the pharma suite",
    )
    parser.add_argument(
        "--pharma-duration", type=float, default=PharmaPlan.duration_s, help="pharma window per run, seconds"
    )
    parser.add_argument("--pharma-lines", type=int, default=5, help="lines per second invoice")
    parser.add_argument(
        "--scale-duration", type=float, default=ScalePlan.duration_s, help="scale window per run, seconds"
    )
    parser.add_argument(
        "--scale-parties",
        type=int,
        default=ScalePlan.parties,
        help="hosted parties the scale suite registers",
    )
    parser.add_argument(
        "--scale-rounds",
        type=int,
        default=ScalePlan.rounds,
        help="bulk windows of each consortium in the scale suite, taken in turns",
    )
    parser.add_argument(
        "--membership-concurrency",
        type=int,
        default=MembershipPlan.concurrency,
        help="threads submitting invoices while a member joins",
    )
    parser.add_argument(
        "--membership-join-from",
        choices=("snapshot", "genesis"),
        default=MembershipPlan.join_from,
        help="the new member's peer joins from a member's ledger snapshot or from the genesis block",
    )
    parser.add_argument(
        "--membership-port-base",
        type=int,
        default=MembershipPlan.port_base,
        help="first port of the membership suite's consortium (the new member's from +600)",
    )
    parser.add_argument(
        "--service-duration",
        type=float,
        default=ServicePlan.duration_s,
        help="service window per run, seconds",
    )
    parser.add_argument(
        "--service-rounds",
        type=int,
        default=ServicePlan.rounds,
        help="windows of each path at each concurrency in the service suite, taken in turns",
    )
    parser.add_argument(
        "--service-port-base",
        type=int,
        default=SERVICE_PORT_BASE,
        help="first port of the service suite's network (its two services listen on the two below)",
    )
    parser.add_argument(
        "--projection-lines",
        default=",".join(map(str, ProjectionPlan.lines)),
        help="comma-separated invoice-line counts of the projection suite's provinces",
    )
    parser.add_argument(
        "--projection-backends",
        default=",".join(ProjectionPlan.backends),
        help="comma-separated, of: sqlite, postgresql",
    )
    parser.add_argument(
        "--projection-lag-duration",
        type=float,
        default=LagPlan.duration_s,
        help="seconds of bulk write load while the feed follows the ledger (0: no lag window)",
    )
    parser.add_argument(
        "--projection-lag-port-base",
        type=int,
        default=LagPlan.port_base,
        help="port base of the projection suite's network",
    )
    parser.add_argument(
        "--bc-timeouts", default=",".join(BATCH_TIMEOUTS), help="batch timeouts of the blockcutting suite"
    )
    parser.add_argument(
        "--bc-sample", default=SAMPLE_TIMEOUT, help="Fabric's sample timeout, at C=1 only ('none' to skip)"
    )
    parser.add_argument("--bc-duration", type=float, default=5.0, help="blockcutting window per run, seconds")
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.15,
        help="rerun a run when other programs used more than this fraction of the machine (0-1)",
    )
    parser.add_argument("--retries", type=int, default=3, help="at most this many repeated runs in all")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for the machine to idle (shared machines)",
    )
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "bench" / "results.json")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and its time estimate only")
    parser.add_argument(
        "--budget-min",
        type=float,
        default=TIME_BUDGET_S / 60,
        help="refuse a plan estimated over this many minutes (default: the make bench budget)",
    )
    return parser.parse_args(argv)


def parse_suites(text: str) -> tuple[str, ...]:
    """The suites named by ``--suite`` (comma-separated, or ``all``), in the order they run.

    Raises:
        ValueError: an unknown suite name, or none at all.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return DEFAULT_SUITES
    unknown = [name for name in names if name not in SUITES]
    if unknown or not names:
        raise ValueError(f"unknown suites {unknown or [text]}: choose from {', '.join(SUITES)} or 'all'")
    return tuple(suite for suite in SUITES if suite in names)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(value) for value in text.split(",") if value.strip())


def _plan(args: argparse.Namespace) -> Plan:
    clients = tuple(c.strip() for c in args.clients.split(",") if c.strip())
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown:
        raise ValueError(f"unknown clients {unknown}: choose from {', '.join(CLIENTS)}")
    return Plan(
        clients=tuple(c for c in CLIENTS if c in clients),
        concurrencies=_numbers(args.concurrency),
        duration_s=args.duration,
        warmup_s=args.warmup,
        client_chaincode=args.client_chaincode,
        chaincodes=tuple(c.strip() for c in args.chaincodes.split(",") if c.strip()),
        chaincode_client=args.chaincode_client,
    )


def _pharma_plan(args: argparse.Namespace) -> PharmaPlan:
    return PharmaPlan(
        concurrencies=_numbers(args.pharma_concurrency),
        duration_s=args.pharma_duration,
        lines=args.pharma_lines,
    )


def _scale_plan(args: argparse.Namespace) -> ScalePlan:
    return ScalePlan(
        duration_s=args.scale_duration,
        parties=args.scale_parties,
        lines=args.pharma_lines,
        rounds=args.scale_rounds,
    )


def _membership_plan(args: argparse.Namespace) -> MembershipPlan:
    return MembershipPlan(
        concurrency=args.membership_concurrency,
        port_base=args.membership_port_base,
        join_from=args.membership_join_from,
    )


def _service_plan(args: argparse.Namespace) -> ServicePlan:
    return ServicePlan(duration_s=args.service_duration, rounds=args.service_rounds, lines=args.pharma_lines)


def _blockcutting_plan(args: argparse.Namespace) -> BlockCuttingPlan:
    return BlockCuttingPlan(
        timeouts=tuple(t.strip() for t in args.bc_timeouts.split(",") if t.strip()),
        sample_timeout=None if args.bc_sample.lower() == "none" else args.bc_sample,
        duration_s=args.bc_duration,
    )


def _projection_plan(args: argparse.Namespace) -> ProjectionPlan:
    backends = tuple(b.strip() for b in args.projection_backends.split(",") if b.strip())
    unknown = [b for b in backends if b not in ("sqlite", "postgresql")]
    if unknown or not backends:
        raise ValueError(f"unknown projection backends {unknown or [args.projection_backends]}")
    lag = None
    if args.projection_lag_duration > 0:
        lag = LagPlan(duration_s=args.projection_lag_duration, port_base=args.projection_lag_port_base)
    return ProjectionPlan(
        lines=_numbers(args.projection_lines),
        backends=backends,
        ledger_lines_per_s=_scale_bulk_rate(args.results),
        lag=lag,
    )


def _scale_bulk_rate(results: Path) -> float | None:
    # The ledger's bulk write rate, as the scale suite last recorded it, for the feed's ratio.
    try:
        value = json.loads(results.read_text()).get("scale", {}).get("lines_per_s_bulk")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def estimate_seconds(args: argparse.Namespace, suites: tuple[str, ...]) -> float:
    """Wall time of ``suites`` under ``args``: every run, the allowed repeats, and network set-up."""
    plan = _plan(args)
    driver_suites = tuple(s for s in suites if s in ("client", "chaincode"))
    per_run = plan.warmup_s + plan.duration_s + RUN_OVERHEAD_S
    total = 0.0
    if driver_suites:
        runs = sum(plan.runs(s) for s in driver_suites) + args.retries
        total += plan.estimated_seconds(driver_suites) + args.retries * per_run + runs * args.quiet_wait
        total += 0.0 if args.network is not None else BENCH_NETWORK_SECONDS
    if "network" in suites:
        total += args.network_runs * SECONDS_PER_RUN
    if "pharma" in suites:
        total += _pharma_plan(args).estimated_seconds()
    if "scale" in suites:
        total += _scale_plan(args).estimated_seconds()
    if "membership" in suites:
        total += _membership_plan(args).estimated_seconds()
    if "service" in suites:
        total += _service_plan(args).estimated_seconds()
    if "blockcutting" in suites:
        total += _blockcutting_plan(args).estimated_seconds()
    if "projection" in suites:
        total += _projection_plan(args).estimated_seconds()
    return total


def _meta(args: argparse.Namespace, network: str, fabric_bin: Path | None, argv: list[str]) -> dict[str, Any]:
    return {
        "command": shlex.join(["python", "-m", "bench", *argv]),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(fabric_bin),
        "network": network,
        "max_foreign_fraction": args.max_foreign,
    }


def _fabric_bin() -> Path | None:
    from fabrx_network import find_fabric

    install = find_fabric()
    return install.bin_dir if install is not None else None


def run_suites(args: argparse.Namespace, plan: Plan, network: BenchNetwork, argv: list[str]) -> None:
    """Run the client and chaincode suites on ``network``; record each suite's figures as it finishes."""
    suites = parse_suites(args.suite)
    meta = {
        **_meta(args, network.description, network.fabric_bin, argv),
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "concurrencies": list(plan.concurrencies),
    }
    prefix = new_run_prefix()
    run = QuietRunner(
        max_foreign_fraction=args.max_foreign,
        retry_budget=args.retries,
        quiet_wait_s=args.quiet_wait,
        progress=_progress,
    )
    if "client" in suites:
        sections = client_suite(network, plan, run, run_prefix=prefix, progress=_progress)
        client_meta = {
            **meta,
            "chaincode": plan.client_chaincode,
            "clients": list(plan.clients),
            "rounds": plan.rounds,
        }
        update_results(args.results, {**sections, "meta": {"client": client_meta}})
        update_docs(args.docs, "client", render_client_section(sections, client_meta))
    if "chaincode" in suites:
        sections = chaincode_suite(network, plan, run, run_prefix=prefix, progress=_progress)
        if sections["chaincode"]:
            chaincode_meta = {
                **meta,
                "client": plan.chaincode_client,
                "concurrencies": [plan.top_concurrency],
            }
            update_results(args.results, {**sections, "meta": {"chaincode": chaincode_meta}})
            update_docs(args.docs, "chaincode", render_chaincode_section(sections, chaincode_meta))


def run_network_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """Time ``up`` on the default consortium; record the ``network`` section."""
    sections = network_suite(runs=args.network_runs, progress=_progress)
    description = (
        f"network/consortium.yaml (7 CAs, 1 Raft orderer, 6 peers, the pharma chaincode), ports from "
        f"{NETWORK_PORT_BASE}, a fresh run directory under the system temp dir each run"
    )
    meta = _meta(args, description, _fabric_bin(), argv)
    update_results(args.results, {**sections, "meta": {"network": meta}})
    update_docs(args.docs, "network", render_network_section(sections["network"], meta))


def run_pharma_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """Second invoices against the bare write; record the ``pharma`` section."""
    plan = _pharma_plan(args)
    sections = pharma_suite(plan, progress=_progress)
    description = (
        "network/consortium.yaml (6 organizations, pharma chaincode with private copies in the implicit "
        "collections of the seller and the regulator, endorsed by both) plus asset-py under the same "
        "policy, ports "
        f"from {PHARMA_PORT_BASE}"
    )
    method = (
        f"DistributorA's client (fabrx's blocking Gateway on its own peer, one thread per concurrent "
        f"transaction; endorsers DistributorA and Regulator) at C={','.join(map(str, plan.concurrencies))}, "
        f"{plan.duration_s:.0f} s window after {plan.warmup_s:.0f} s warmup per workload; each worker "
        f"sells from its own batches (no two invoices in flight touch the same stock counter); each "
        f"workload reported at its best concurrency; errors per run in `bench/results.json`"
    )
    meta = {**_meta(args, description, _fabric_bin(), argv), "method": method}
    update_results(args.results, {**sections, "meta": {"pharma": meta}})
    update_docs(args.docs, "pharma", render_pharma_section(sections["pharma"], meta))


def run_scale_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """Invoice lines per second, one invoice and many per transaction; record the ``scale`` section."""
    plan = _scale_plan(args)
    sections = scale_suite(plan, progress=_progress)
    description = (
        "network/consortium.yaml (6 organizations; the pharma chaincode with private copies in the implicit "
        "collections of the seller's host and the regulator, endorsement by both, every rule), ports "
        f"from {SCALE_PORT_BASE}; beside it, up in the same run, the same consortium from port "
        f"{PROVINCE_PORT_BASE} grown to {plan.members} member organizations and {plan.parties} hosted parties"
    )
    method = (
        f"DistributorA's client (fabrx's blocking Gateway on its own peer) sells {plan.lines}-line second "
        f"invoices to HospitalA: one per transaction at C={plan.single_concurrency}, then "
        f"{plan.bulk_invoices} per transaction (`write_records`) at C={plan.bulk_concurrency}, each thread "
        f"from its own batches; {plan.duration_s:.0f} s window after {plan.warmup_s:.0f} s warmup each; "
        f"the bulk windows of the default and the province-sized consortium in turns, {plan.rounds} of "
        "each, each figure the median of its windows; then a new hosted party of the province-sized "
        "consortium from registration to its first accepted invoice"
    )
    meta = {**_meta(args, description, _fabric_bin(), argv), "method": method}
    update_results(args.results, {**sections, "meta": {"scale": meta}}, replace=("scale",))
    update_docs(args.docs, "scale", render_scale_section(sections["scale"], meta))


def run_membership_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """A hospital joins the default consortium under load and leaves it; record ``membership``."""
    plan = _membership_plan(args)
    sections = membership_suite(plan, progress=_progress)
    description = (
        "network/consortium.yaml (6 organizations, 1 Raft orderer, the pharma chaincode with its real "
        f"endorsement policy), ports from {plan.port_base}; the new member HospitalD runs its own "
        "deployment (`fabrx member`, own run directory) on 127.0.1.8 (another host, on loopback), ports "
        f"from {plan.port_base + 600}"
    )
    joined = (
        "a snapshot the regulator's peer writes after the update, copied to its host, `fabrx channel join "
        "--snapshot` as its own admin"
        if plan.join_from == "snapshot"
        else "the genesis block fetched by its own admin, `fabrx member join --block`"
    )
    method = (
        f"DistributorA's client (fabrx's blocking Gateway) sells {plan.lines}-line second invoices to "
        f"HospitalA from {plan.concurrency} threads throughout; HospitalD joins with `fabrx` commands and "
        "files only: join request, `channel update add-org`, four of six admins' `sign` at the same time, "
        f"`submit`; its peer joins from {joined}; `fabrx member approve`; beside these the regulator "
        "registers it and DistributorA sells to it; HospitalD records the receipt with its own client on "
        "its own peer. *join* = from the admins receiving the join request to that receipt accepted; then "
        "HospitalD is removed and made inactive, and what it can still do is checked"
    )
    meta = {**_meta(args, description, _fabric_bin(), argv), "method": method}
    update_results(args.results, {**sections, "meta": {"membership": meta}}, replace=("membership",))
    update_docs(args.docs, "membership", render_membership_section(sections["membership"], meta))


def run_service_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """Submits and verifications through the member's service against the SDK; record ``service``."""
    plan = _service_plan(args)
    sections = service_suite(plan, port_base=args.service_port_base, progress=_progress)
    description = (
        "network/consortium.yaml (6 organizations; the pharma chaincode with private copies in the implicit "
        "collections of the seller and the regulator, endorsed by both), ports from "
        f"{args.service_port_base}; `fabrx serve` for DistributorA and HospitalA as their own processes "
        "(one uvicorn worker each, HTTPS with the generated certificate), on the same machine"
    )
    method = (
        f"in the bench process, {plan.concurrency} threads (closed loop) and then 1: DistributorA issues "
        f"{plan.lines}-line second invoices to HospitalA (submit) and HospitalA verifies them with the "
        "first-invoice copy (verify), through the SDK (`fabrx.pharma` facades, fabrx's blocking Gateway "
        "on the member's own peer) or through the member's service (an ERP application with an ECDSA "
        "P-256 key: each request signed per RFC 9421 in the bench process, a kept-alive HTTPS connection "
        "per thread, submits with an Idempotency-Key); each thread sells from its own batches; "
        f"{plan.rounds} windows of {plan.duration_s:g} s after {plan.warmup_s:g} s warmup per path, "
        "concurrency and mode, the two paths in turns; throughput the median window at "
        f"C={plan.concurrency}, latency the median p50 at C={plan.latency_concurrency}"
    )
    meta = {**_meta(args, description, _fabric_bin(), argv), "method": method}
    update_results(args.results, {**sections, "meta": {"service": meta}}, replace=("service",))
    update_docs(args.docs, "service", render_service_section(sections["service"], meta))


def run_projection_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """The supervision store at provincial scale on SQLite and PostgreSQL; record ``projection``."""
    plan = _projection_plan(args)
    sections = projection_suite(plan, progress=_progress)
    description = (
        "no network: the supervision store (fabrx_pharma_supervision) on an SQLite file in a temporary "
        "folder and on a throwaway PostgreSQL cluster started by the suite"
    )
    method = (
        f"synthetic provinces of {', '.join(f'{n:,}' for n in plan.lines)} invoice lines (seed {plan.seed}) "
        "written into a fresh store by the bulk writer; then one full re-evaluation of the whole-ledger "
        "rules and the whole compliance report, checked against the known violations; at the largest "
        f"size {plan.traces:,} traces of random prescriptions; the feed figure applies a "
        f"{plan.feed_lines:,}-line province block by block ({plan.feed_block_writes} writes per block) "
        "through the checked ingest, Fabric block decoding not included, compared with the ledger's rate "
        "in the lag window"
    )
    if plan.lag is not None:
        description += (
            "; for the lag, the default consortium (port base "
            f"{plan.lag.port_base}) under {plan.lag.duration_s:g} s of bulk second invoices "
            f"({plan.lag.concurrency} threads, {plan.lag.invoices} invoices of {plan.lag.lines} lines per "
            "transaction) while one feed process per backend follows the Regulator's peer"
        )
        method += (
            f"; the lag is sampled every {plan.lag.sample_s:g} s of the load window: the last block the "
            "Regulator's peer delivered (a filtered-block listener) minus the last block committed to "
            "each store"
        )
    meta = {**_meta(args, description, None, argv), "method": method}
    earlier = json.loads(Path(args.results).read_text()) if Path(args.results).exists() else {}
    section, meta = keep_other_backends(sections["projection"], meta, earlier)
    update = {"projection": section, "meta": {"projection": meta}}
    update_results(args.results, update, replace=("projection",))
    update_docs(args.docs, "projection", render_projection_section(section, meta))


def run_blockcutting_suite(args: argparse.Namespace, argv: list[str]) -> None:
    """One bench network per batch timeout; record the ``blockcutting`` section."""
    plan = _blockcutting_plan(args)
    run = QuietRunner(
        max_foreign_fraction=args.max_foreign,
        retry_budget=args.retries,
        quiet_wait_s=args.quiet_wait,
        progress=_progress,
    )
    sections = blockcutting_suite(
        plan,
        run,
        lambda timeout: bench_network(batch_timeout=timeout),
        run_prefix=new_run_prefix(),
        progress=_progress,
    )
    meta = {
        **_meta(args, bench_description("after each row's batch timeout"), _fabric_bin(), argv),
        "latency_concurrency": plan.latency_concurrency,
        "throughput_concurrency": plan.throughput_concurrency,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "sample_duration_s": plan.sample_duration_s,
    }
    update_results(args.results, {**sections, "meta": {"blockcutting": meta}})
    update_docs(
        args.docs,
        "blockcutting",
        render_blockcutting_section(sections["blockcutting"], meta, sections["details"]["blockcutting"]),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    args = _parse_args(arguments)
    try:
        suites = parse_suites(args.suite)
        plan = _plan(args)
        estimate = estimate_seconds(args, suites)
    except ValueError as exc:
        _progress(f"bench: {exc}")
        return 2
    _progress(f"bench: suites {', '.join(suites)}: at most {estimate / 60:.1f} min")
    if estimate > args.budget_min * 60:
        _progress(
            f"bench: over the {args.budget_min:g} min budget; shorten --duration or the plan, "
            "or raise --budget-min for a long run"
        )
        return 2
    if args.dry_run:
        return 0
    try:
        # The network suite times `up` first, while no other benchmark network loads the machine.
        if "network" in suites:
            run_network_suite(args, arguments)
        if "client" in suites or "chaincode" in suites:
            if args.network is not None:
                run_suites(args, plan, load_network(args.network), arguments)
            else:
                with bench_network() as network:
                    run_suites(args, plan, network, arguments)
        if "pharma" in suites:
            run_pharma_suite(args, arguments)
        if "scale" in suites:
            run_scale_suite(args, arguments)
        if "membership" in suites:
            run_membership_suite(args, arguments)
        if "service" in suites:
            run_service_suite(args, arguments)
        if "blockcutting" in suites:
            run_blockcutting_suite(args, arguments)
        if "projection" in suites:
            run_projection_suite(args, arguments)
    except (BenchError, ValueError, OSError) as exc:
        _progress(f"bench: {exc}")
        return 1
    _progress(f"bench: results in {args.results}, report in {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
