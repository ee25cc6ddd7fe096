"""``fabrx channel``: read a running channel's configuration and change it with signed updates.

The update flow passes only files between members: ``update <change> -o update.pb`` creates the update,
each admin runs ``update describe`` and ``update sign update.pb -o <org>.sig``, and anyone runs
``update submit update.pb *.sig``, which refuses (naming what is missing) unless the signatures satisfy
the update's policies. The acting admin is ``--as ORG`` from the run directory (its organization's peer
reads the current configuration), or, on a member's own host, ``--msp-id``/``--msp-dir`` with
``--peer``/``--peer-tls-ca`` and ``--orderer``/``--orderer-tls-ca`` as the command needs them.

Orderers: ``join-orderer`` joins a new orderer to the channel through its channel participation API
(with the latest config block it follows the channel), ``update add-consenter`` makes it a consenter,
``update remove-consenter`` takes one out, ``update orderer-endpoints`` moves where peers and clients
reach the ordering service.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from fabrx import Endpoint
from fabrx.admin import (
    AnchorPeer,
    ChannelConfig,
    ChannelUpdate,
    JoinRequest,
    OrdererAdmin,
    UpdateSignature,
    add_consenter,
    add_crl,
    add_organization,
    check_signatures,
    describe_update,
    fetch_block,
    fetch_config_block,
    join_by_snapshot_status,
    join_channel_by_snapshot,
    new_channel_update,
    read_channel_config,
    read_channel_config_from_orderer,
    remove_consenter,
    remove_organization,
    request_snapshot,
    set_anchor_peers,
    set_orderer_endpoints,
    sign_update,
    submit_update,
    verify_block,
    wait_for_snapshot,
)
from fabrx.errors import AdminError
from fabrx_network import open_network
from fabrx_network.admins import OrgAdmin, org_admin

from .main import CliContext, cli


@dataclass(frozen=True)
class AdminSource:
    """Whose admin acts, from the run directory (``--as``) or from a member's own files."""

    as_org: str | None
    msp_id: str | None
    msp_dir: Path | None
    peer: str | None
    peer_tls_ca: Path | None
    orderer: str | None
    orderer_tls_ca: Path | None

    def resolve(self, obj: CliContext) -> OrgAdmin:
        explicit = self.msp_id or self.msp_dir or self.peer or self.orderer
        if self.as_org and not explicit:
            net = open_network(obj.config_path, obj.run_dir)
            net.require_up(self.as_org)
            return org_admin(net, self.as_org)
        if self.as_org or not (self.msp_id and self.msp_dir):
            raise click.UsageError(
                "act either --as ORG (run directory), or with --msp-id and --msp-dir "
                "(plus --peer/--peer-tls-ca and --orderer/--orderer-tls-ca where the command needs them)"
            )
        return OrgAdmin.from_files(
            self.msp_id,
            self.msp_dir,
            peer=_endpoint(self.peer, self.peer_tls_ca, "--peer"),
            orderer=_endpoint(self.orderer, self.orderer_tls_ca, "--orderer"),
        )


def _endpoint(address: str | None, tls_ca: Path | None, option: str) -> Endpoint | None:
    if address is None:
        return None
    if tls_ca is None:
        raise click.UsageError(f"{option} needs {option}-tls-ca (the PEM CA of its TLS certificate)")
    return Endpoint.from_files(address, tls_root_cert=tls_ca)


_ACTING_OPTIONS = ("as_org", "msp_id", "msp_dir", "peer", "peer_tls_ca", "orderer", "orderer_tls_ca")


def _acting_admin(command: Callable[..., None]) -> Callable[..., None]:
    """Adds the options naming the acting admin; the command receives them as ``who``."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        who = AdminSource(*(kwargs.pop(f"acting_{name}") for name in _ACTING_OPTIONS))
        command(who=who, **kwargs)

    existing = click.Path(path_type=Path, dir_okay=False, exists=True)
    options = [
        click.option(
            "--as",
            "acting_as_org",
            help="Act as this organization's admin (name or MSP id) from the run directory.",
        ),
        click.option(
            "--msp-id",
            "acting_msp_id",
            help="Or act with your own admin MSP folder: its MSP id (with --msp-dir).",
        ),
        click.option(
            "--msp-dir",
            "acting_msp_dir",
            type=click.Path(path_type=Path, file_okay=False, exists=True),
            help="Your admin MSP folder.",
        ),
        click.option(
            "--peer",
            "acting_peer",
            help="host:port of your organization's peer (reads the channel configuration).",
        ),
        click.option(
            "--peer-tls-ca",
            "acting_peer_tls_ca",
            type=existing,
            help="PEM CA certificate of the peer's TLS certificate.",
        ),
        click.option(
            "--orderer",
            "acting_orderer",
            help="host:port of an orderer of the channel (submit; reading without a peer).",
        ),
        click.option(
            "--orderer-tls-ca",
            "acting_orderer_tls_ca",
            type=existing,
            help="PEM CA certificate of the orderer's TLS certificate.",
        ),
    ]
    decorated: Callable[..., None] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


_channel_option = click.option("--channel", default="pharma", show_default=True, help="Channel id.")
_output_option = click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="File to write."
)


@cli.group()
def channel() -> None:
    """Read a channel's configuration and change it with updates signed by its admins."""


@channel.group()
def update() -> None:
    """Create, describe, sign and submit channel configuration updates (files between admins)."""


def _current(admin: OrgAdmin, channel_id: str) -> ChannelConfig:
    """The configuration from the organization's own peer, or from the orderer if it runs none."""
    if admin.peer is None:
        orderer = admin.require_orderer()
        return read_channel_config_from_orderer(orderer, admin.identity, admin.signer, channel_id)
    return read_channel_config(admin.peer, channel_id)


def _config_summary(config: ChannelConfig) -> dict[str, Any]:
    return {
        "channel": config.channel_id,
        "sequence": config.sequence,
        "application_orgs": [
            {
                "name": org.name,
                "msp_id": org.msp_id,
                "anchor_peers": [str(a) for a in org.anchor_peers],
                "crls": len(org.msp.revocation_list),
            }
            for org in config.application_orgs
        ],
        "orderer_orgs": [{"name": org.name, "msp_id": org.msp_id} for org in config.orderer_orgs],
        "consensus": config.consensus_type,
        "consenters": [str(c) for c in config.consenters],
    }


def _render_summary(data: dict[str, Any]) -> str:
    lines = [f"channel {data['channel']}, configuration sequence {data['sequence']}"]
    for org in data["application_orgs"]:
        anchors = ", ".join(org["anchor_peers"]) or "none"
        lines.append(f"  {org['msp_id']} (group {org['name']}): anchor peers {anchors}; CRLs {org['crls']}")
    for org in data["orderer_orgs"]:
        lines.append(f"  orderer organization {org['msp_id']} (group {org['name']})")
    lines.append(f"  {data['consensus']} consenters: {', '.join(data['consenters'])}")
    return "\n".join(lines)


@channel.command("config")
@_acting_admin
@_channel_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the common.Config bytes.",
)
@click.pass_obj
def show_config(obj: CliContext, who: AdminSource, channel: str, output: Path | None) -> None:
    """Show the channel's current configuration as the organization's peer (or the orderer) has it."""
    config = _current(who.resolve(obj), channel)
    if output is not None:
        _write(output, config.serialize())
    obj.output.result(_config_summary(config), _render_summary)


@channel.command("fetch-block")
@_acting_admin
@_channel_option
@click.option(
    "--number",
    type=int,
    default=0,
    show_default=True,
    help="Block number (0: the genesis block; -1: newest).",
)
@click.option("--config-block", is_flag=True, help="Fetch the latest config block instead of --number.")
@_output_option
@click.pass_obj
def fetch_block_command(
    obj: CliContext, who: AdminSource, channel: str, number: int, config_block: bool, output: Path
) -> None:
    """Fetch a block of the channel from an orderer, e.g. the genesis block a new member's peer joins with."""
    admin = who.resolve(obj)
    orderer = admin.require_orderer()
    if config_block:
        block = fetch_config_block(orderer, admin.identity, admin.signer, channel)
    else:
        block = fetch_block(orderer, admin.identity, admin.signer, channel, number)
    _write(output, block)
    obj.output.result(
        {"block": str(output), "channel": channel, "bytes": len(block)},
        lambda d: f"block of {d['channel']} written to {d['block']} ({d['bytes']} bytes)",
    )


@channel.command("verify-block")
@_acting_admin
@_channel_option
@click.option(
    "--block",
    "block_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="A block file, e.g. from fetch-block --orderer HOST:PORT (the orderer you suspect).",
)
@click.pass_obj
def verify_block_command(obj: CliContext, who: AdminSource, channel: str, block_file: Path) -> None:
    """Check a block's orderer signatures as a peer would (exit 1 when a peer would refuse it).

    The signatures must satisfy the channel's /Channel/Orderer/BlockValidation policy with the channel's
    current configuration (an orderer's certificate revoked by its organization's CRL no longer counts),
    and the header's data hash must match the block's transactions. Nothing is sent.
    """
    verdict = verify_block(block_file.read_bytes(), _current(who.resolve(obj), channel))
    if not verdict.valid:
        raise AdminError(verdict.explain())
    obj.output.result(
        {
            "block_number": verdict.number,
            "valid": True,
            "signers": list(verdict.accepted),
            "explanation": verdict.explain(),
        },
        lambda d: d["explanation"],
    )


@channel.command("join-request")
@click.option("--name", required=True, help="The organization's group name in the channel, e.g. HospitalC.")
@click.option("--msp-id", required=True, help="The organization's MSP id, e.g. HospitalCMSP.")
@click.option(
    "--msp-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The organization MSP folder (cacerts/, tlscacerts/, config.yaml with node OUs).",
)
@click.option(
    "--anchor-peer", "anchor_peers", multiple=True, help="host:port of an anchor peer (repeatable)."
)
@_output_option
@click.pass_obj
def join_request(
    obj: CliContext, name: str, msp_id: str, msp_dir: Path, anchor_peers: tuple[str, ...], output: Path
) -> None:
    """Write a new organization's join request (public certificates and anchor peers only)."""
    request = JoinRequest.from_msp_folder(
        name, msp_id, msp_dir, tuple(AnchorPeer.parse(a) for a in anchor_peers)
    )
    _write(output, request.to_json().encode())
    obj.output.result(
        {"request": str(output), "msp_id": msp_id, "name": name},
        lambda d: f"join request of {d['msp_id']} written to {d['request']}",
    )


@channel.command("snapshot")
@_acting_admin
@_channel_option
@click.option(
    "--block", "block_number", type=int, help="Block number (default: the peer's last committed block)."
)
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the snapshot."
)
@click.pass_obj
def snapshot(
    obj: CliContext, who: AdminSource, channel: str, block_number: int | None, timeout: float
) -> None:
    """Have the organization's peer write a snapshot of the channel, for a new member to join from.

    The snapshot is a folder on the peer's host, <ledger.snapshots.rootDir>/completed/<channel>/<block>
    (in a run directory: nodes/<peer>/data/snapshots/...); hand it to the new member.
    """
    peer = who.resolve(obj).require_peer()
    number = request_snapshot(peer, channel, block_number)
    wait_for_snapshot(peer, channel, number, timeout=timeout)
    obj.output.result(
        {"channel": channel, "block_number": number, "folder": f"completed/{channel}/{number}"},
        lambda d: (
            f"snapshot of {d['channel']} at block {d['block_number']} written by the peer to "
            f"<snapshots root>/{d['folder']}"
        ),
    )


@channel.command("join")
@_acting_admin
@click.option(
    "--block",
    "block_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The channel's genesis block (fetch-block --number 0).",
)
@click.option(
    "--snapshot",
    "snapshot_dir",
    help="Or a snapshot folder, as a path on the peer's host (the peer reads it, not this command).",
)
@click.option(
    "--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait for a snapshot join."
)
@click.pass_obj
def join(
    obj: CliContext, who: AdminSource, block_file: Path | None, snapshot_dir: str | None, timeout: float
) -> None:
    """Join the organization's peer to a channel, from its genesis block or from a ledger snapshot.

    From a snapshot the peer builds the ledger at the snapshot's block and pulls only the blocks
    after it; the command waits until it has built it.
    """
    if (block_file is None) == (snapshot_dir is None):
        raise click.UsageError("give exactly one of --block and --snapshot")
    peer = who.resolve(obj).require_peer()
    if block_file is not None:
        joined = peer.join_channel(block_file.read_bytes())
        obj.output.result(
            {"channel": joined.channel_id, "already_joined": joined.already_joined},
            lambda d: f"peer {'already had' if d['already_joined'] else 'joined'} {d['channel']}",
        )
        return
    assert snapshot_dir is not None
    join_channel_by_snapshot(peer, snapshot_dir)
    deadline = time.monotonic() + timeout
    while join_by_snapshot_status(peer).in_progress:
        if time.monotonic() > deadline:
            raise AdminError(
                f"the peer is still building the ledger from {snapshot_dir} after {timeout:.0f} s"
            )
        time.sleep(0.5)
    obj.output.result(
        {"snapshot": snapshot_dir, "channels": list(peer.channels())},
        lambda d: f"peer joined from snapshot {d['snapshot']}; its channels: {', '.join(d['channels'])}",
    )


@channel.command("join-orderer")
@click.option(
    "--admin-address", required=True, help="host:port of the orderer's admin (channel participation) API."
)
@click.option(
    "--tls-ca",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="PEM CA certificate of the orderer's admin TLS certificate.",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="Your admin's PEM TLS client certificate (issued by a CA the orderer's admin API trusts).",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="Its PEM private key.",
)
@click.option(
    "--block",
    "block_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The channel's genesis block, or its latest config block (fetch-block --config-block).",
)
@click.pass_obj
def join_orderer(
    obj: CliContext, admin_address: str, tls_ca: Path, tls_cert: Path, tls_key: Path, block_file: Path
) -> None:
    """Join an orderer to a channel through its channel participation API.

    With the latest config block of a running channel the orderer follows it and replicates its
    blocks; once an update makes it a consenter it takes part in ordering.
    """
    orderer = OrdererAdmin.from_files(
        admin_address, tls_root_cert=tls_ca, client_cert=tls_cert, client_key=tls_key
    )
    joined = orderer.join(block_file.read_bytes())
    info = joined.info
    obj.output.result(
        {
            "channel": info.name,
            "status": info.status,
            "consensus_relation": info.consensus_relation,
            "height": info.height,
            "already_joined": joined.already_joined,
        },
        lambda d: (
            f"orderer {admin_address} {'already serves' if d['already_joined'] else 'joined'} "
            f"{d['channel']}: {d['status']} {d['consensus_relation']}, height {d['height']}"
        ),
    )


def _create(obj: CliContext, admin: OrgAdmin, channel_id: str, changed: Any, output: Path) -> None:
    current = _current(admin, channel_id)
    created = new_channel_update(current, changed(current))
    _write(output, created.bytes)
    lines = describe_update(created.update, current)
    obj.output.result(
        {"update": str(output), "channel": channel_id, "changes": list(lines)},
        lambda d: f"update of {d['channel']} written to {d['update']}:\n  " + "\n  ".join(d["changes"]),
    )


@update.command("anchor-peers")
@_acting_admin
@_channel_option
@click.option("--org", "msp_id", help="MSP id of the organization (default: the --as organization).")
@click.option(
    "--anchor-peer", "peers", multiple=True, help="host:port of an anchor peer (repeatable; none removes)."
)
@_output_option
@click.pass_obj
def anchor_peers(
    obj: CliContext, who: AdminSource, channel: str, msp_id: str | None, peers: tuple[str, ...], output: Path
) -> None:
    """Create an update setting an organization's anchor peers (its own admins sign it)."""
    admin = who.resolve(obj)
    parsed = [AnchorPeer.parse(p) for p in peers]
    _create(obj, admin, channel, lambda c: set_anchor_peers(c, msp_id or admin.msp_id, parsed), output)


@update.command("add-org")
@_acting_admin
@_channel_option
@click.option(
    "--request", "request_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True
)
@_output_option
@click.pass_obj
def add_org(obj: CliContext, who: AdminSource, channel: str, request_file: Path, output: Path) -> None:
    """Create an update adding the organization of a join request (a majority of admins sign it)."""
    request = JoinRequest.from_json(request_file.read_text(encoding="utf-8"))
    _create(obj, who.resolve(obj), channel, lambda c: add_organization(c, request), output)


@update.command("remove-org")
@_acting_admin
@_channel_option
@click.option("--org", "msp_id", required=True, help="MSP id of the organization to remove.")
@_output_option
@click.pass_obj
def remove_org(obj: CliContext, who: AdminSource, channel: str, msp_id: str, output: Path) -> None:
    """Create an update removing an organization from the channel (a majority of admins sign it)."""
    _create(obj, who.resolve(obj), channel, lambda c: remove_organization(c, msp_id), output)


@update.command("add-crl")
@_acting_admin
@_channel_option
@click.option("--org", "msp_id", help="MSP id whose CA issued the CRL (default: the --as organization).")
@click.option(
    "--crl", "crl_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True
)
@click.option("--serial", "serials", multiple=True, help="Hex serial the CRL must revoke (repeatable).")
@_output_option
@click.pass_obj
def add_crl_command(
    obj: CliContext,
    who: AdminSource,
    channel: str,
    msp_id: str | None,
    crl_file: Path,
    serials: tuple[str, ...],
    output: Path,
) -> None:
    """Create an update putting a CA's CRL into the organization's MSP (its own admins sign it)."""
    admin = who.resolve(obj)
    try:
        revoked = [int(s.replace(":", ""), 16) for s in serials]
    except ValueError as exc:
        raise click.BadParameter(f"a serial is hexadecimal: {exc}", param_hint="--serial") from exc
    crl = crl_file.read_bytes()
    _create(obj, admin, channel, lambda c: add_crl(c, msp_id or admin.msp_id, crl, revoked=revoked), output)


@update.command("remove-consenter")
@_acting_admin
@_channel_option
@click.option("--consenter", required=True, help="host:port of the Raft consenter to remove.")
@_output_option
@click.pass_obj
def remove_consenter_command(
    obj: CliContext, who: AdminSource, channel: str, consenter: str, output: Path
) -> None:
    """Create an update removing a Raft consenter (the orderer organizations' admins sign it)."""
    address = AnchorPeer.parse(consenter)
    _create(obj, who.resolve(obj), channel, lambda c: remove_consenter(c, address.host, address.port), output)


@update.command("add-consenter")
@_acting_admin
@_channel_option
@click.option("--org", "msp_id", help="MSP id of the orderer organization (default: the --as organization).")
@click.option("--consenter", required=True, help="host:port of the new orderer (its gRPC and cluster port).")
@click.option(
    "--tls-cert",
    "tls_cert_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The new orderer's PEM TLS certificate (issued by the organization's TLS CA).",
)
@click.option(
    "--identity",
    "identity_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="BFT only: the new orderer's PEM enrollment certificate (its signcert).",
)
@_output_option
@click.pass_obj
def add_consenter_command(
    obj: CliContext,
    who: AdminSource,
    channel: str,
    msp_id: str | None,
    consenter: str,
    tls_cert_file: Path,
    identity_file: Path | None,
    output: Path,
) -> None:
    """Create an update adding a Raft or BFT consenter.

    Join the new orderer first (join-orderer, with the latest config block) so it catches up as a
    follower; the orderer organizations' admins sign the update. The orderer endpoints are left as they
    are: advertise the new orderer with `update orderer-endpoints` once it is an active consenter.
    """
    admin = who.resolve(obj)
    address = AnchorPeer.parse(consenter)
    tls_cert = tls_cert_file.read_bytes()
    identity = identity_file.read_bytes() if identity_file is not None else None
    _create(
        obj,
        admin,
        channel,
        lambda c: add_consenter(
            c, msp_id or admin.msp_id, address.host, address.port, tls_cert, identity=identity
        ),
        output,
    )


@update.command("orderer-endpoints")
@_acting_admin
@_channel_option
@click.option("--org", "msp_id", help="MSP id of the orderer organization (default: the --as organization).")
@click.option(
    "--endpoint", "endpoints", multiple=True, required=True, help="host:port of an orderer (repeatable)."
)
@_output_option
@click.pass_obj
def orderer_endpoints(
    obj: CliContext,
    who: AdminSource,
    channel: str,
    msp_id: str | None,
    endpoints: tuple[str, ...],
    output: Path,
) -> None:
    """Create an update replacing an orderer organization's orderer endpoints (its admins sign it)."""
    admin = who.resolve(obj)
    _create(
        obj, admin, channel, lambda c: set_orderer_endpoints(c, msp_id or admin.msp_id, endpoints), output
    )


def _read_update(path: Path) -> ChannelUpdate:
    try:
        return ChannelUpdate.from_bytes(path.read_bytes())
    except OSError as exc:
        raise AdminError(f"cannot read update file {path}: {exc.strerror}") from exc


def _read_signatures(paths: tuple[Path, ...]) -> list[UpdateSignature]:
    signatures = []
    for path in paths:
        try:
            signatures.append(UpdateSignature.from_bytes(path.read_bytes()))
        except OSError as exc:
            raise AdminError(f"cannot read signature file {path}: {exc.strerror}") from exc
        except AdminError as exc:
            raise AdminError(f"{path}: {exc}") from exc
    return signatures


_update_file = click.argument("update_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
_signature_files = click.argument(
    "signature_files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)


@update.command("describe")
@_update_file
@_acting_admin
@click.pass_obj
def describe(obj: CliContext, update_file: Path, who: AdminSource) -> None:
    """Say in words what an update changes, against the channel's current configuration."""
    created = _read_update(update_file)
    current = _current(who.resolve(obj), created.channel_id)
    lines = describe_update(created.update, current)
    obj.output.result(
        {"channel": created.channel_id, "sequence": current.sequence, "changes": list(lines)},
        lambda d: (
            f"update of {d['channel']} (at configuration sequence {d['sequence']}):\n  "
            + "\n  ".join(d["changes"])
        ),
    )


@update.command("sign")
@_update_file
@_acting_admin
@_output_option
@click.pass_obj
def sign(obj: CliContext, update_file: Path, who: AdminSource, output: Path) -> None:
    """Sign an update; the signature goes to its own file and the update file is unchanged.

    Needs only the admin's identity (--as, or --msp-id and --msp-dir): review it first with describe.
    """
    created = _read_update(update_file)
    admin = who.resolve(obj)
    signature = sign_update(created, admin.identity, admin.signer)
    _write(output, signature.bytes)
    obj.output.result(
        {"signature": str(output), "msp_id": admin.msp_id, "channel": created.channel_id},
        lambda d: f"signed the update of {d['channel']} as {d['msp_id']}: {d['signature']}",
    )


@update.command("check")
@_update_file
@_signature_files
@_acting_admin
@click.pass_obj
def check(obj: CliContext, update_file: Path, signature_files: tuple[Path, ...], who: AdminSource) -> None:
    """Check whether the signatures satisfy the update's policies (exit 1 when not); nothing is sent."""
    created = _read_update(update_file)
    verdict = check_signatures(
        created, _read_signatures(signature_files), _current(who.resolve(obj), created.channel_id)
    )
    if not verdict.satisfied:
        raise AdminError(verdict.explain())
    obj.output.result({"satisfied": True, "explanation": verdict.explain()}, lambda d: d["explanation"])


@update.command("submit")
@_update_file
@_signature_files
@_acting_admin
@click.pass_obj
def submit(obj: CliContext, update_file: Path, signature_files: tuple[Path, ...], who: AdminSource) -> None:
    """Submit an update with its signatures and wait until the organization's peer has the new config.

    Refused, with nothing sent, unless the signatures satisfy the policies of everything it changes.
    """
    created = _read_update(update_file)
    admin = who.resolve(obj)
    config = submit_update(
        created, _read_signatures(signature_files), peer=admin.require_peer(), orderer=admin.require_orderer()
    )
    obj.output.result(_config_summary(config), lambda d: "updated; now " + _render_summary(d))


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise AdminError(f"cannot write {path}: {exc.strerror}") from exc
