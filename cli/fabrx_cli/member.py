"""``fabrx member init | up | genesis | join | approve | commit | status | down | units``: one
organization's own deployment.

Each command reads the member file (``--file``: the organization's own nodes and the channel's public
facts; for the orderer organization its orderers and the channel it orders) and acts on the
organization's own run directory (``--run-dir``, default ``.fabrx/member-<name>``), which holds this
organization's keys only. See ``fabrx_network.member``.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from fabrx.admin import JoinRequest
from fabrx_network.errors import NetworkError
from fabrx_network.member import MemberDeployment, open_own_host
from fabrx_network.orderer_host import OrdererDeployment

from .main import CliContext, cli

_FILE = click.option(
    "-f",
    "--file",
    "member_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The member file: the organization's own nodes and the channel's public facts (or the orderer "
    "organization's file: its orderers and the channel it orders).",
)


def _open(obj: CliContext, member_file: Path) -> MemberDeployment | OrdererDeployment:
    return open_own_host(member_file, obj.run_dir)


def _peer_member(obj: CliContext, member_file: Path, command: str) -> MemberDeployment:
    deployment = _open(obj, member_file)
    if not isinstance(deployment, MemberDeployment):
        raise NetworkError(
            f"{member_file} is the orderer organization's file: `fabrx member {command}` is for a member "
            "that runs peers"
        )
    return deployment


def _orderer_org(obj: CliContext, member_file: Path, command: str) -> OrdererDeployment:
    deployment = _open(obj, member_file)
    if not isinstance(deployment, OrdererDeployment):
        raise NetworkError(
            f"{member_file} is a member's file: `fabrx member {command}` is for the orderer organization "
            "(a file that lists orderers)"
        )
    return deployment


def _join_requests(paths: tuple[Path, ...]) -> list[JoinRequest]:
    loaded = []
    for path in paths:
        try:
            loaded.append(JoinRequest.from_json(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise click.BadParameter(f"{path}: {exc}", param_hint="--request") from exc
    return loaded


def _handed_out(d: dict[str, object]) -> str:
    if d.get("tls_ca_cert"):
        return f"orderer TLS CA certificate: {d['tls_ca_cert']}"
    return f"join request: {d['join_request']}"


@cli.group()
def member() -> None:
    """Run one organization's own nodes on its own host, from its member file."""


@member.command()
@_FILE
@click.pass_obj
def init(obj: CliContext, member_file: Path) -> None:
    """Create the organization's CA, identities and MSP here, and write the file it hands out.

    A member's join request (join-request.json in the run directory: CA and TLS CA certificates, node
    OUs, anchor peers) goes to the orderer organization (a founding member: `fabrx member genesis`) or to
    the channel's admins (`fabrx channel update add-org --request`). The orderer organization writes
    orderer-tls-ca.pem, the certificate each member's file names. Starts the organization's CA.
    Idempotent.
    """
    report = _open(obj, member_file).init(progress=obj.output.progress)
    obj.output.result(report.as_dict(), _handed_out)


@member.command()
@_FILE
@click.pass_obj
def up(obj: CliContext, member_file: Path) -> None:
    """Start what is down of the organization's CA, peers and chaincode servers, or CA and orderers
    (init when needed)."""
    report = _open(obj, member_file).up(progress=obj.output.progress)
    obj.output.result(
        report.as_dict(),
        lambda d: f"started {len(d['started'])} node(s): {', '.join(d['started']) or 'none'}",
    )


@member.command()
@_FILE
@click.option(
    "--request",
    "requests",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    required=True,
    help="A founding member's join request (its join-request.json); repeat for each member.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also copy the block here (it stays in the run directory's config/ folder).",
)
@click.pass_obj
def genesis(obj: CliContext, member_file: Path, requests: tuple[Path, ...], output: Path | None) -> None:
    """The orderer organization creates the channel's genesis block from the founding members' join
    requests (public files only). Hand the block to every member (`fabrx member join --block`)."""
    deployment = _orderer_org(obj, member_file, "genesis")
    loaded = _join_requests(requests)
    block = deployment.genesis(loaded, progress=obj.output.progress)
    if output is not None:
        output.write_bytes(block.read_bytes())
    obj.output.result(
        {"block": str(output or block), "members": [r.msp_id for r in loaded]},
        lambda d: f"genesis block: {d['block']} ({', '.join(d['members'])})",
    )


@member.command()
@_FILE
@click.option(
    "--block",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The channel's genesis block (from the orderer organization, or `fabrx channel fetch-block "
    "--number 0`).",
)
@click.pass_obj
def join(obj: CliContext, member_file: Path, block: Path) -> None:
    """Join the organization's peers (or orderers) to the channel with its genesis block."""
    joined = _open(obj, member_file).join(block.read_bytes())
    obj.output.result({"joined": joined}, lambda d: f"joined {len(d['joined'])} node(s)")


@member.command()
@_FILE
@click.pass_obj
def approve(obj: CliContext, member_file: Path) -> None:
    """Install the organization's own chaincode packages on its peers and approve the channel's
    committed definitions for it (each with its own package id)."""
    deployment = _peer_member(obj, member_file, "approve")
    deployment.require_up()
    result = deployment.approve_chaincodes()
    obj.output.result(result, lambda d: "\n".join(f"{name}: {pid}" for name, pid in d.items()))


@member.command()
@_FILE
@click.option(
    "--request",
    "requests",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    required=True,
    help="Another member's join request: its anchor peer endorses the commit. Repeat until, with this "
    "member, a majority of the channel's members endorse.",
)
@click.pass_obj
def commit(obj: CliContext, member_file: Path, requests: tuple[Path, ...]) -> None:
    """Commit the member file's chaincode definitions on a new channel, once a majority of its members
    approved them (`fabrx member approve`)."""
    deployment = _peer_member(obj, member_file, "commit")
    deployment.require_up()
    result = deployment.commit_chaincodes(_join_requests(requests))
    obj.output.result(
        result,
        lambda d: "\n".join(
            f"{name}: {'committed' if new else 'already committed'}" for name, new in d.items()
        ),
    )


@member.command()
@_FILE
@click.pass_obj
def status(obj: CliContext, member_file: Path) -> None:
    """Each node of the organization: up or down, its address, the channel's height on it and how far
    a peer is behind the orderer; for a node that is down, the last lines of its log. Exits 3 when one
    is down."""
    result = _open(obj, member_file).status()
    obj.output.result(result.as_dict(), lambda _: result.render(), ok=result.up)


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
