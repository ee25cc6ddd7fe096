"""``fabrx network up | down | restart | status | logs | units``: run the consortium of the file."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click

from fabrx_network.operations import NetworkStatus, open_network

from .main import CliContext, cli


@cli.group()
def network() -> None:
    """Bring the consortium up, stop it, and see whether every node is healthy."""


@network.command()
@click.option(
    "--consensus",
    help="Orderer variant from the consortium file (e.g. raft1, raft3, bft4); default: its own choice.",
)
@click.pass_obj
def up(obj: CliContext, consensus: str | None) -> None:
    """Start every CA, orderer, peer and chaincode server; create and join channels; deploy chaincodes.

    Idempotent: a second run checks every step and does only what is missing, so it also resumes a
    half-done setup and starts a node that died. It never stops a node that was already running: a
    failed run stops only what it started itself, and says what it stopped and what still runs.
    """
    net = open_network(obj.config_path, obj.run_dir, consensus=consensus)
    report = net.up(progress=obj.output.progress)
    obj.output.result(report.as_dict(), lambda _: report.render())


@network.command()
@click.option("--purge", is_flag=True, help="Also delete the run directory: ledgers, keys, logs.")
@click.pass_obj
def down(obj: CliContext, purge: bool) -> None:
    """Stop exactly the processes `up` started (by recorded pid). The ledgers stay unless --purge."""
    net = open_network(obj.config_path, obj.run_dir)
    stopped = net.down(purge=purge)
    obj.output.result(
        {"stopped": stopped, "purged": purge, "run_dir": str(net.run_dir)},
        lambda d: f"stopped {len(stopped)} processes" + (f"; removed {d['run_dir']}" if purge else ""),
    )


@network.command()
@click.argument("node")
@click.pass_obj
def restart(obj: CliContext, node: str) -> None:
    """Restart one node (e.g. peer0.HospitalA, orderer0.Orderer, ca.Regulator, chaincode.pharma.HospitalA).

    Stops it if it runs, starts it, waits until it is healthy; every other node keeps running.
    """
    net = open_network(obj.config_path, obj.run_dir)
    report = net.restart(node)
    obj.output.result(report.as_dict(), lambda _: report.render())


@network.command()
@click.pass_obj
def status(obj: CliContext) -> None:
    """Every node up or down, its health and version, ledger height per channel, deployed chaincodes.

    Exits 3 when any node is down or unhealthy.
    """
    net = open_network(obj.config_path, obj.run_dir)
    result: NetworkStatus = net.status()
    obj.output.result(result.as_dict(), lambda _: result.render(), ok=result.healthy)


@network.command()
@click.argument("node", required=False)
@click.option("-n", "--lines", default=40, show_default=True, help="Lines from the end of each log.")
@click.pass_obj
def logs(obj: CliContext, node: str | None, lines: int) -> None:
    """Show the end of a node's log (or every node's log file path when NODE is omitted)."""
    net = open_network(obj.config_path, obj.run_dir)
    data: dict[str, Any] = net.logs(node, lines=lines)
    obj.output.result(data, lambda d: "\n".join(f"==> {k} <==\n{v}" for k, v in d.items()))


@network.command()
@click.option("--org", "org", required=True, help="The organization (name or MSP id) whose nodes to run.")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the unit files into (e.g. /etc/systemd/system).",
)
@click.option("--user", help="Account the nodes run as, the owner of the run directory [default: you].")
@click.option("--group", help="Group the nodes run as [default: the user's].")
@click.pass_obj
def units(obj: CliContext, org: str, output: Path, user: str | None, group: str | None) -> None:
    """Write systemd units that run one organization's nodes from this run directory.

    One .service per node (its CA, peers or orderers, chaincode servers) with Restart=on-failure,
    After=network-online.target and User=, and one .target that starts them all:
    `systemctl daemon-reload && systemctl enable --now <target>`. Bring the network up once with
    `fabrx network up` (identities, channels, chaincodes), stop it with `fabrx network down`, then let
    systemd run the nodes.
    """
    net = open_network(obj.config_path, obj.run_dir)
    result = net.systemd_units(org, user=user or getpass.getuser(), group=group)
    written = result.write(output)
    obj.output.result(
        {"target": result.target, "files": [str(p) for p in written]},
        lambda d: (
            "\n".join(d["files"])
            + "\nstart them now and on every boot: systemctl daemon-reload && "
            + f"systemctl enable --now {d['target']}"
        ),
    )
