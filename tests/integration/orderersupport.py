"""A new orderer of the orderer organization, started by a test beside a running network.

The orderer organization issues the node's identities from its own CA, and the node runs as fabrx renders
any orderer, its files in a run directory of its own (as on the orderer organization's own host). The
Raft consenter test and the BFT consenter test both add such a node to a running channel.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netsupport import installed_fabric, spawned_node

from fabrx.admin import (
    ChannelConfig,
    ChannelInfo,
    ChannelUpdate,
    OrdererAdmin,
    add_consenter,
    describe_update,
    fetch_config_block,
    new_channel_update,
    read_channel_config,
    remove_consenter,
    set_orderer_endpoints,
    sign_update,
    submit_update,
)
from fabrx.errors import AdminError
from fabrx_network import ConsortiumNetwork
from fabrx_network.admins import org_admin, org_registrar
from fabrx_network.config import Orderer
from fabrx_network.identities import IdentityPlan, issue_identity
from fabrx_network.layout import RunLayout
from fabrx_network.render import render_orderer


@dataclass
class NewOrderer:
    """An orderer node of the orderer organization started by the test."""

    orderer: Orderer
    address: str
    tls_cert: bytes
    enrollment_cert: bytes
    admin: OrdererAdmin
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def orderer_node(network: ConsortiumNetwork, orderer: Orderer, root: Path) -> Iterator[NewOrderer]:
    """Issue ``orderer``'s identities from the orderer organization's CA and start it; stop it at the end."""
    consortium = network.consortium
    org = consortium.orderer_org
    name = orderer.name
    layout = RunLayout(root / f"{name}-host")
    plan = IdentityPlan(
        org.name,
        f"{name}.{org.name}",
        "orderer",
        layout.orderer_msp(org.name, name),
        layout.orderer_tls(org.name, name),
    )
    client, registrar = org_registrar(network, org.name)
    with client:
        issue_identity(
            client, registrar, "consenter-test", plan, (plan.enrollment_id, "localhost", consortium.host)
        )
    spec = render_orderer(consortium, orderer, layout, installed_fabric())
    admin_tls = network.layout.user_tls(org.name, "admin")
    admin = OrdererAdmin.from_files(
        f"{consortium.host}:{orderer.admin_port}",
        tls_root_cert=network.layout.ca_cert(org.name),
        client_cert=admin_tls.cert,
        client_key=admin_tls.key,
        timeout=10,
    )
    with spawned_node(spec, admin.channels) as process:
        yield NewOrderer(
            orderer,
            f"{consortium.host}:{orderer.port}",
            plan.tls.cert.read_bytes(),
            layout.orderer_msp(org.name, name).signcert.read_bytes(),
            admin,
            process,
            spec.log_path,
        )


def raft3_orderer_node(
    network: ConsortiumNetwork, name: str, root: Path
) -> contextlib.AbstractContextManager[NewOrderer]:
    """:func:`orderer_node` for ``name`` of the ``raft3`` variant, whose ports the consortium reserves."""
    orderer = next(o for o in network.consortium.orderer_org.variants["raft3"].orderers if o.name == name)
    return orderer_node(network, orderer, root)


def wait_info(
    node: NewOrderer, channel: str, relation: str, height: int, timeout: float = 60.0
) -> ChannelInfo:
    """``node`` serves ``channel`` as ``relation``, active, with at least ``height`` blocks."""
    deadline = time.monotonic() + timeout
    info = None
    while True:
        with contextlib.suppress(AdminError):
            info = node.admin.info(channel)
            if info.consensus_relation == relation and info.status == "active" and info.height >= height:
                return info
        if time.monotonic() > deadline:
            pytest.fail(
                f"{node.orderer.name} is {info} after {timeout:.0f} s, expected an active {relation}:\n"
                + node.tail()
            )
        time.sleep(0.2)


def wait_removed(node: NewOrderer, channel: str, timeout: float = 30.0) -> None:
    """``node`` no longer serves ``channel`` (it deletes the channel's ledger in the background)."""
    deadline = time.monotonic() + timeout
    while channel in node.admin.channels():
        if time.monotonic() > deadline:
            pytest.fail(f"{node.orderer.name} still serves {channel} {timeout:.0f} s after its removal")
        time.sleep(0.2)


def submit_signed_by_orderer_org(network: ConsortiumNetwork, update: ChannelUpdate) -> ChannelConfig:
    """The orderer organization's admin signs (a file in real life); a member's admin submits."""
    orderer_admin = org_admin(network, "Orderer")
    signature = sign_update(
        ChannelUpdate.from_bytes(update.bytes), orderer_admin.identity, orderer_admin.signer
    )
    regulator = org_admin(network, "Regulator")
    return submit_update(
        update, [signature], peer=regulator.require_peer(), orderer=orderer_admin.require_orderer()
    )


def current_config(network: ConsortiumNetwork, channel: str) -> ChannelConfig:
    """``channel``'s configuration as the regulator's peer has it."""
    return read_channel_config(org_admin(network, "Regulator").require_peer(), channel)


def wait_sequence_everywhere(
    network: ConsortiumNetwork, channel: str, sequence: int, timeout: float = 30.0
) -> None:
    """Every application peer has the channel configuration of at least ``sequence``."""
    deadline = time.monotonic() + timeout
    for org in network.consortium.orgs:
        peer = org_admin(network, org.name).require_peer()
        while (seen := read_channel_config(peer, channel).sequence) < sequence:
            if time.monotonic() > deadline:
                pytest.fail(f"{org.name}'s peer is at configuration sequence {seen}, expected {sequence}")
            time.sleep(0.1)


def wait_active_nodes(network: ConsortiumNetwork, channel: str, count: int, timeout: float = 60.0) -> None:
    """orderer0 (which receives the updates) counts ``count`` active Raft nodes of ``channel``.

    Fabric refuses a consenter change that could lose quorum, judged by the active nodes the orderer
    that receives the update knows of (``x out of y nodes are alive``): right after a change the
    cluster needs a moment before it counts the new node. Read from ``/metrics``
    (``consensus_etcdraft_active_nodes``) with the orderer organization admin's TLS certificate.
    """
    org = network.consortium.orderer_org
    tls = network.layout.user_tls(org.name, "admin")
    context = ssl.create_default_context(cafile=str(network.layout.ca_cert(org.name)))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    url = f"https://{network.consortium.host}:{org.orderers[0].operations_port}/metrics"
    pattern = re.compile(rf'^consensus_etcdraft_active_nodes{{channel="{channel}"}} (\d+)', re.MULTILINE)
    deadline = time.monotonic() + timeout
    active = 0
    while True:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, context=context, timeout=3) as response:
                found = pattern.search(response.read().decode())
            active = int(found.group(1)) if found else 0
            if active >= count:
                return
        if time.monotonic() > deadline:
            pytest.fail(
                f"orderer0 counts {active} active Raft nodes of {channel} after {timeout:.0f} s, not {count}"
            )
        time.sleep(0.2)


def orderer0_height(network: ConsortiumNetwork, channel: str) -> int:
    return network.orderer_admin("orderer0").info(channel).height


def set_endpoints(network: ConsortiumNetwork, channel: str, endpoints: list[str]) -> ChannelConfig:
    """Set the orderer organization's endpoints and wait until every peer (every gateway) has them."""
    current = current_config(network, channel)
    update = new_channel_update(current, set_orderer_endpoints(current, "OrdererMSP", endpoints))
    after = submit_signed_by_orderer_org(network, update)
    assert after.orderer_org("OrdererMSP").endpoints == tuple(endpoints)
    wait_sequence_everywhere(network, channel, after.sequence)
    return after


def join_and_add(
    network: ConsortiumNetwork, node: NewOrderer, channel: str, *, advertise: bool = True
) -> ChannelConfig:
    """Join ``node`` with the latest config block (a follower catching up), make it a consenter, and
    once it orders, advertise its endpoint (unless ``advertise`` is false: then peers and gateways do
    not know of it, and only the other consenters talk to it)."""
    orderer_admin = org_admin(network, "Orderer")
    block = fetch_config_block(
        orderer_admin.require_orderer(), orderer_admin.identity, orderer_admin.signer, channel
    )
    joined = node.admin.join(block)
    assert joined.info.consensus_relation == "follower", joined
    wait_info(node, channel, "follower", orderer0_height(network, channel))

    before = current_config(network, channel)
    wait_active_nodes(network, channel, len(before.consenters))
    host, _, port = node.address.rpartition(":")
    update = new_channel_update(before, add_consenter(before, "OrdererMSP", host, int(port), node.tls_cert))
    assert describe_update(update.update, before) == (f"adds consenter {node.address}",)
    after = submit_signed_by_orderer_org(network, update)
    assert node.address in {str(c) for c in after.consenters}
    wait_info(node, channel, "consenter", orderer0_height(network, channel))
    wait_active_nodes(network, channel, len(after.consenters))
    if not advertise:
        return after
    return set_endpoints(network, channel, [*after.orderer_org("OrdererMSP").endpoints, node.address])


def remove_node(network: ConsortiumNetwork, node: NewOrderer, channel: str) -> ChannelConfig:
    """Withdraw ``node``'s endpoint, remove it from the consenters, then the channel from ``node``."""
    before = current_config(network, channel)
    endpoints = before.orderer_org("OrdererMSP").endpoints
    if node.address in endpoints:
        before = set_endpoints(network, channel, [e for e in endpoints if e != node.address])
    wait_active_nodes(network, channel, len(before.consenters))
    host, _, port = node.address.rpartition(":")
    update = new_channel_update(before, remove_consenter(before, host, int(port)))
    assert describe_update(update.update, before) == (f"removes consenter {node.address}",)
    after = submit_signed_by_orderer_org(network, update)
    assert node.address not in {str(c) for c in after.consenters}
    wait_sequence_everywhere(network, channel, after.sequence)
    node.admin.remove(channel)
    wait_removed(node, channel)
    return after
