"""A new orderer of the orderer organization, started by a test beside a running network.

The orderer organization issues the node's identities from its own CA, and the node runs as fabrx renders
any orderer, its files in a run directory of its own (as on the orderer organization's own host). The
Raft consenter test and the BFT consenter test both add such a node to a running channel.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netsupport import installed_fabric

from fabrx.admin import ChannelConfig, ChannelInfo, ChannelUpdate, OrdererAdmin, sign_update, submit_update
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
    spec.cwd.mkdir(parents=True, exist_ok=True)
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    admin_tls = network.layout.user_tls(org.name, "admin")
    admin = OrdererAdmin.from_files(
        f"{consortium.host}:{orderer.admin_port}",
        tls_root_cert=network.layout.ca_cert(org.name),
        client_cert=admin_tls.cert,
        client_key=admin_tls.key,
        timeout=10,
    )
    with spec.log_path.open("wb") as log:
        process = subprocess.Popen(
            list(spec.argv),
            env={**spec.env, "PATH": "/usr/bin:/bin"},
            cwd=spec.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    node = NewOrderer(
        orderer,
        f"{consortium.host}:{orderer.port}",
        plan.tls.cert.read_bytes(),
        layout.orderer_msp(org.name, name).signcert.read_bytes(),
        admin,
        process,
        spec.log_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{node.tail()}")
            try:
                admin.channels()
                break
            except AdminError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name}'s admin endpoint did not answer within 60 s:\n{node.tail()}")
                time.sleep(0.2)
        yield node
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
