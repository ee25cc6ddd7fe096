"""``make bench`` (``python -m bench``, from the repository root): run the suites, record the figures.

::

    python -m bench                                   # bring up the bench network, run every suite
    python -m bench --network running.json            # use a network that is already running
    python -m bench --suite client --clients fabrx --concurrency 1,128 --duration 4

Figures are merged into ``bench/results.json`` and each suite's section of ``docs/benchmarks.md`` is
replaced, with the command, date and machine. The whole run must stay under 10 minutes on a 2-core
machine: the default plan (28 runs of 2 s warmup + 8 s window) takes about 6 minutes plus set-up.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .machine import machine_info
from .network import BenchNetwork, load_network
from .render import render_chaincode_section, render_client_section
from .report import update_docs, update_results
from .runner import CLIENTS, BenchError, QuietRunner
from .suites import RUN_OVERHEAD_S, Plan, chaincode_suite, client_suite, new_run_prefix

REPO_ROOT = Path(__file__).resolve().parent.parent
TIME_BUDGET_S = 10 * 60
SUITES = ("client", "chaincode")


# ---------------------------------------------------------------------------------------------------
# BENCH NETWORK: to be wired to fabrx's network tooling (fabrx_network) by the lead.
#
# It must start, and stop on exit: 1 Raft orderer, 2 organizations x 1 peer, TLS, LevelDB, the CCaaS
# builder, one channel with BatchTimeout 20ms / MaxMessageCount 100, and two CCaaS chaincodes with the
# endorsement policy OR('Org1MSP.peer', 'Org2MSP.peer'):
#   "node":  tests/interop/chaincode (fabric-contract-api; contract "asset"), started with
#            node tests/interop/node_modules/fabric-shim/cli.js server --chaincode-address HOST:PORT
#                 --chaincode-id $CCID --module-path tests/interop/chaincode
#            with CORE_CHAINCODE_LOGGING_LEVEL=warning (its default logs every transaction);
#   "fabrx": examples/chaincode/asset.py on fabrx_chaincode.
# and yield a BenchNetwork whose processes map "gateway peer", "other peer" and "orderer" to pids and
# whose chaincodes carry their server pids (see bench/network.py for every field).
# ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def bench_network() -> Iterator[BenchNetwork]:
    """Bring up the benchmark network, yield its description, tear it down afterwards.

    Raises:
        BenchError: not wired yet; pass ``--network FILE`` describing a running network instead.
    """
    raise BenchError(
        "bench_network() is not wired to fabrx's network tooling yet: start a network yourself and "
        "pass --network FILE (format in bench/network.py)"
    )
    yield  # pragma: no cover - makes this a generator for contextmanager


def _progress(message: str) -> None:
    # The orchestrator is a command, not library code: progress goes to standard error.
    print(message, file=sys.stderr, flush=True)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--network", type=Path, help="JSON description of an already running network")
    parser.add_argument("--suite", choices=(*SUITES, "all"), default="all")
    parser.add_argument(
        "--clients", default=",".join(CLIENTS), help="comma-separated, of: " + ", ".join(CLIENTS)
    )
    parser.add_argument("--concurrency", default="1,8,32,128", help="comma-separated concurrencies")
    parser.add_argument("--duration", type=float, default=8.0, help="measured window per run, seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="warmup before each window, seconds")
    parser.add_argument("--client-chaincode", default="node", help="chaincode the client suite loads")
    parser.add_argument("--chaincodes", default="fabrx,node", help="chaincodes the chaincode suite compares")
    parser.add_argument("--chaincode-client", default="node_openssl", choices=CLIENTS)
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.15,
        help="rerun a run when other programs used more than this fraction of the machine (0-1)",
    )
    parser.add_argument("--retries", type=int, default=6, help="at most this many repeated runs in all")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for the machine to idle (shared machines)",
    )
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "bench" / "results.json")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and its time estimate only")
    return parser.parse_args(argv)


def _plan(args: argparse.Namespace) -> Plan:
    clients = tuple(c.strip() for c in args.clients.split(",") if c.strip())
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown:
        raise ValueError(f"unknown clients {unknown}: choose from {', '.join(CLIENTS)}")
    return Plan(
        clients=tuple(c for c in CLIENTS if c in clients),
        concurrencies=tuple(int(c) for c in args.concurrency.split(",")),
        duration_s=args.duration,
        warmup_s=args.warmup,
        client_chaincode=args.client_chaincode,
        chaincodes=tuple(c.strip() for c in args.chaincodes.split(",") if c.strip()),
        chaincode_client=args.chaincode_client,
    )


def _meta(args: argparse.Namespace, plan: Plan, network: BenchNetwork, argv: list[str]) -> dict[str, Any]:
    return {
        "command": shlex.join(["python", "-m", "bench", *argv]),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(network.fabric_bin),
        "network": network.description,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "concurrencies": list(plan.concurrencies),
        "max_foreign_fraction": args.max_foreign,
    }


def run_suites(args: argparse.Namespace, plan: Plan, network: BenchNetwork, argv: list[str]) -> None:
    """Run the chosen suites on ``network``; record each suite's figures as soon as it finishes."""
    suites = SUITES if args.suite == "all" else (args.suite,)
    meta = _meta(args, plan, network, argv)
    prefix = new_run_prefix()
    run = QuietRunner(
        max_foreign_fraction=args.max_foreign,
        retry_budget=args.retries,
        quiet_wait_s=args.quiet_wait,
        progress=_progress,
    )
    if "client" in suites:
        sections = client_suite(network, plan, run, run_prefix=prefix, progress=_progress)
        client_meta = {**meta, "chaincode": plan.client_chaincode, "clients": list(plan.clients)}
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    args = _parse_args(arguments)
    try:
        plan = _plan(args)
    except ValueError as exc:
        _progress(f"bench: {exc}")
        return 2
    suites = SUITES if args.suite == "all" else (args.suite,)
    per_run = plan.warmup_s + plan.duration_s + RUN_OVERHEAD_S
    runs = sum(plan.runs(s) for s in suites) + args.retries
    estimate = plan.estimated_seconds(suites) + args.retries * per_run + runs * args.quiet_wait
    _progress(
        f"bench: {sum(plan.runs(s) for s in suites)} runs (+{args.retries} repeats at most), "
        f"at most {estimate / 60:.1f} min plus network set-up"
    )
    if estimate > TIME_BUDGET_S:
        _progress(f"bench: over the {TIME_BUDGET_S // 60} min budget; shorten --duration or the plan")
        return 2
    if args.dry_run:
        return 0
    try:
        if args.network is not None:
            run_suites(args, plan, load_network(args.network), arguments)
        else:
            with bench_network() as network:
                run_suites(args, plan, network, arguments)
    except (BenchError, ValueError, OSError) as exc:
        _progress(f"bench: {exc}")
        return 1
    _progress(f"bench: results in {args.results}, report in {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
