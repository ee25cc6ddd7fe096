"""``fabrx network up | down | restart | status | logs | profile | units``: run the consortium of the file."""

from __future__ import annotations

import contextlib
import datetime
import getpass
import json
import re
from pathlib import Path
from typing import Any

import click

from fabrx_network.operations import NetworkStatus, open_network, strip_ansi

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
@click.option(
    "-f", "--follow", is_flag=True, help="Then keep printing lines as NODE writes them (Ctrl-C stops)."
)
@click.option(
    "--since",
    metavar="WHEN",
    help="Only lines logged since WHEN: a duration back from now (30s, 10m, 2h, 1d) or an ISO time.",
)
@click.pass_obj
def logs(obj: CliContext, node: str | None, lines: int, follow: bool, since: str | None) -> None:
    """Show the end of a node's log (or every node's log file path when NODE is omitted).

    With --json the text comes without ANSI colour codes; with --json --follow every new line is one JSON
    object {"node", "line"} on its own line.
    """
    if follow and node is None:
        raise click.UsageError("--follow needs a NODE (e.g. peer0.HospitalA)")
    start = _since(since) if since else None
    net = open_network(obj.config_path, obj.run_dir)
    if not any(net.layout.logs_dir.glob("*.log")):  # logs of a failed `up` are worth reading: only when none
        net.require_started()
    data: dict[str, Any] = net.logs(node, lines=lines, since=start, colour=not obj.output.json_mode)
    if follow and node is not None:
        if obj.output.json_mode:
            obj.output.line(json.dumps({"node": node, "line": data[node]}))
        else:
            click.echo(data[node], nl=False)
        with contextlib.suppress(KeyboardInterrupt):
            for line in net.follow_log(node):
                if obj.output.json_mode:
                    obj.output.line(json.dumps({"node": node, "line": strip_ansi(line)}))
                else:
                    obj.output.line(line)
        return
    obj.output.result(data, lambda d: "\n".join(f"==> {k} <==\n{v}" for k, v in d.items()))


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _since(value: str) -> datetime.datetime:
    """``--since``: ``30s``/``10m``/``2h``/``1d`` back from now, or an ISO time (local if zone-less)."""
    match = _DURATION.match(value.strip())
    now = datetime.datetime.now(datetime.UTC)
    if match:
        return now - datetime.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a duration (30s, 10m, 2h, 1d) nor an ISO time (2026-12-04T09:30)",
            param_hint="--since",
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


@network.command()
@click.argument("org")
@click.pass_obj
def profile(obj: CliContext, org: str) -> None:
    """Print the connection profile of organization ORG (name or MSP id): the Node SDK's JSON format.

    Its peers' grpcs:// addresses (the first is the gateway peer), their TLS CA and host name override,
    and the organization's CA. `network up` also writes it to <run dir>/profiles/ORG.json;
    fabrx.connect_profile and the Node SDK's Gateway read it.
    """
    net = open_network(obj.config_path, obj.run_dir)
    net.require_started()
    data = net.connection_profile(org)
    obj.output.result(data, lambda d: json.dumps(d, indent=2))


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
