"""``fabrx member init | up | join | approve | status | down | units``: one organization's own deployment.

Each command reads the member file (``--file``: the organization's own nodes and the channel's public
facts) and acts on the member's own run directory (``--run-dir``, default ``.fabrx/member-<name>``), which
holds this organization's keys only. See ``fabrx_network.member``.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from fabrx_network.member import MemberDeployment, open_member

from .main import CliContext, cli

_FILE = click.option(
    "-f",
    "--file",
    "member_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The member file: the organization's own nodes and the channel's public facts.",
)


def _open(obj: CliContext, member_file: Path) -> MemberDeployment:
    return open_member(member_file, obj.run_dir)


@cli.group()
def member() -> None:
    """Run one organization's own nodes on its own host, from its member file."""


@member.command()
@_FILE
@click.pass_obj
def init(obj: CliContext, member_file: Path) -> None:
    """Create the organization's CA, identities and MSP here, and write its join request.

    The join request (join-request.json in the run directory: CA and TLS CA certificates, node OUs,
    anchor peers) is the only file to hand to the channel's admins (`fabrx channel update add-org
    --request`). Starts the organization's CA. Idempotent.
    """
    report = _open(obj, member_file).init(progress=obj.output.progress)
    obj.output.result(report.as_dict(), lambda d: f"join request: {d['join_request']}")


@member.command()
@_FILE
@click.pass_obj
def up(obj: CliContext, member_file: Path) -> None:
    """Start what is down of the organization's CA, peers and chaincode servers (init when needed)."""
    report = _open(obj, member_file).up(progress=obj.output.progress)
    obj.output.result(
        report.as_dict(),
        lambda d: f"started {len(d['started'])} node(s): {', '.join(d['started']) or 'none'}",
    )


@member.command()
@_FILE
@click.option(
    "--block",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The channel's genesis block (`fabrx channel fetch-block --number 0`, or from another member).",
)
@click.pass_obj
def join(obj: CliContext, member_file: Path, block: Path) -> None:
    """Join the organization's peers to the channel (once the channel's admins added it)."""
    joined = _open(obj, member_file).join(block.read_bytes())
    obj.output.result({"joined": joined}, lambda d: f"joined {len(d['joined'])} peer(s)")


@member.command()
@_FILE
@click.pass_obj
def approve(obj: CliContext, member_file: Path) -> None:
    """Install the organization's own chaincode packages on its peers and approve the channel's
    committed definitions for it (each with its own package id)."""
    result = _open(obj, member_file).approve_chaincodes()
    obj.output.result(result, lambda d: "\n".join(f"{name}: {pid}" for name, pid in d.items()))


@member.command()
@_FILE
@click.pass_obj
def status(obj: CliContext, member_file: Path) -> None:
    """Whether each node of the organization runs. Exits 3 when one is down."""
    result = _open(obj, member_file).status()
    obj.output.result(
        result,
        lambda d: "\n".join(f"{'up  ' if running else 'DOWN'} {node}" for node, running in d.items()),
        ok=all(result.values()),
    )


@member.command()
@_FILE
@click.pass_obj
def down(obj: CliContext, member_file: Path) -> None:
    """Stop the organization's processes started from this run directory; keys and ledgers stay."""
    stopped = _open(obj, member_file).down()
    obj.output.result({"stopped": stopped}, lambda d: f"stopped {len(d['stopped'])} processes")


@member.command()
@_FILE
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
def units(obj: CliContext, member_file: Path, output: Path, user: str | None, group: str | None) -> None:
    """Write systemd units that run the organization's nodes (Restart=on-failure, After=network-online)."""
    result = _open(obj, member_file).systemd_units(user=user or getpass.getuser(), group=group)
    written = result.write(output)
    obj.output.result(
        {"target": result.target, "files": [str(p) for p in written]},
        lambda d: (
            "\n".join(d["files"])
            + f"\nstart them now and on every boot: systemctl enable --now {d['target']}"
        ),
    )
