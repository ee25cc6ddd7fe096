"""Orderers join and leave the running test channel while clients keep submitting.

The session network orders ``pharma`` with one Raft orderer (``raft1``). Here the orderer
organization issues identities for two more orderers from its own CA (``orderer1`` and ``orderer2`` of
the ``raft3`` variant, whose ports the consortium reserves), starts them as fabrx renders any orderer
(their files in a run directory of their own, as on the orderer organization's own host), joins each
to the channel with the latest config block (it follows and catches up), then adds it as a consenter
with an update signed by the orderer organization's admin. A third orderer is added, one is removed,
the orderer endpoints are moved to the third one and back, and the channel ends as it started: one
consenter. Client submits run throughout and every one of them must commit.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from orderersupport import NewOrderer, orderer_node, submit_signed_by_orderer_org, wait_info, wait_removed

import fabrx
from fabrx.admin import (
    ChannelConfig,
    ChannelInfo,
    add_consenter,
    describe_update,
    fetch_config_block,
    new_channel_update,
    read_channel_config,
    remove_consenter,
    set_orderer_endpoints,
)
from fabrx_network import ConsortiumNetwork
from fabrx_network.admins import org_admin

pytestmark = pytest.mark.integration

CHANNEL = "pharma"
CLIENTS = 4  # concurrent submitters while the consenter set changes


def _current(network: ConsortiumNetwork) -> ChannelConfig:
    return read_channel_config(org_admin(network, "Regulator").require_peer(), CHANNEL)


def _wait_sequence_everywhere(network: ConsortiumNetwork, sequence: int, timeout: float = 30.0) -> None:
    """Every application peer has the channel configuration of at least ``sequence``."""
    deadline = time.monotonic() + timeout
    for org in network.consortium.orgs:
        peer = org_admin(network, org.name).require_peer()
        while (seen := read_channel_config(peer, CHANNEL).sequence) < sequence:
            if time.monotonic() > deadline:
                pytest.fail(f"{org.name}'s peer is at configuration sequence {seen}, expected {sequence}")
            time.sleep(0.1)


@dataclass
class Load:
    """Clients submitting ``CreateAsset`` through HospitalA's gateway until stopped."""

    committed: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def count(self) -> int:
        with self.lock:
            return self.committed


@contextlib.contextmanager
def _load(network: ConsortiumNetwork) -> Iterator[Load]:
    load = Load()
    hospital = network.consortium.org("HospitalA")
    identity, signer, _ = fabrx.load_msp_folder(hospital.msp_id, network.client_msp(hospital))

    def run(worker: int) -> None:
        with fabrx.connect(
            network.peer_endpoint(hospital, hospital.peers[0]), identity=identity, signer=signer
        ) as gateway:
            contract = gateway.get_network(CHANNEL).get_contract("asset-py")
            n = 0
            while not load.stop.is_set():
                n += 1
                try:
                    contract.submit_transaction(
                        "CreateAsset", f"consenters-{worker}-{n}", "blue", "1", "hospital-a", "1"
                    )
                except fabrx.FabrxError as exc:
                    with load.lock:
                        load.failures.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
                else:
                    with load.lock:
                        load.committed += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        yield load
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)


def _wait_progress(load: Load, since: int, what: str, timeout: float = 60.0) -> int:
    """Clients committed more since ``since``: the channel orders."""
    deadline = time.monotonic() + timeout
    while (now := load.count()) <= since + CLIENTS:
        if time.monotonic() > deadline:
            pytest.fail(f"no submit committed within {timeout:.0f} s {what} (failures: {load.failures[:3]})")
        time.sleep(0.1)
    return now


def _orderer_node(
    network: ConsortiumNetwork, name: str, root: Path
) -> contextlib.AbstractContextManager[NewOrderer]:
    """``name`` of the ``raft3`` variant, whose ports the consortium reserves."""
    orderer = next(o for o in network.consortium.orderer_org.variants["raft3"].orderers if o.name == name)
    return orderer_node(network, orderer, root)


def _wait_info(node: NewOrderer, relation: str, height: int) -> ChannelInfo:
    return wait_info(node, CHANNEL, relation, height)


def _wait_active_nodes(network: ConsortiumNetwork, count: int, timeout: float = 60.0) -> None:
    """orderer0 (which receives the updates) counts ``count`` active Raft nodes of the channel.

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
    pattern = re.compile(rf'^consensus_etcdraft_active_nodes{{channel="{CHANNEL}"}} (\d+)', re.MULTILINE)
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
                f"orderer0 counts {active} active Raft nodes of {CHANNEL} after {timeout:.0f} s, not {count}"
            )
        time.sleep(0.2)


def _orderer0_height(network: ConsortiumNetwork) -> int:
    return network.orderer_admin("orderer0").info(CHANNEL).height


def _set_endpoints(network: ConsortiumNetwork, endpoints: list[str]) -> ChannelConfig:
    """Set the orderer organization's endpoints and wait until every peer (every gateway) has them."""
    current = _current(network)
    update = new_channel_update(current, set_orderer_endpoints(current, "OrdererMSP", endpoints))
    after = submit_signed_by_orderer_org(network, update)
    assert after.orderer_org("OrdererMSP").endpoints == tuple(endpoints)
    _wait_sequence_everywhere(network, after.sequence)
    return after


def _join_and_add(network: ConsortiumNetwork, node: NewOrderer) -> ChannelConfig:
    """Join ``node`` with the latest config block (a follower catching up), make it a consenter, and
    once it orders, advertise its endpoint."""
    orderer_admin = org_admin(network, "Orderer")
    block = fetch_config_block(
        orderer_admin.require_orderer(), orderer_admin.identity, orderer_admin.signer, CHANNEL
    )
    joined = node.admin.join(block)
    assert joined.info.consensus_relation == "follower", joined
    _wait_info(node, "follower", _orderer0_height(network))

    before = _current(network)
    _wait_active_nodes(network, len(before.consenters))
    host, _, port = node.address.rpartition(":")
    update = new_channel_update(before, add_consenter(before, "OrdererMSP", host, int(port), node.tls_cert))
    assert describe_update(update.update, before) == (f"adds consenter {node.address}",)
    after = submit_signed_by_orderer_org(network, update)
    assert node.address in {str(c) for c in after.consenters}
    _wait_info(node, "consenter", _orderer0_height(network))
    _wait_active_nodes(network, len(after.consenters))
    return _set_endpoints(network, [*after.orderer_org("OrdererMSP").endpoints, node.address])


def _remove(network: ConsortiumNetwork, node: NewOrderer) -> ChannelConfig:
    """Withdraw ``node``'s endpoint, remove it from the consenters, then the channel from ``node``."""
    endpoints = _current(network).orderer_org("OrdererMSP").endpoints
    before = _set_endpoints(network, [e for e in endpoints if e != node.address])
    _wait_active_nodes(network, len(before.consenters))
    host, _, port = node.address.rpartition(":")
    update = new_channel_update(before, remove_consenter(before, host, int(port)))
    assert describe_update(update.update, before) == (f"removes consenter {node.address}",)
    after = submit_signed_by_orderer_org(network, update)
    assert node.address not in {str(c) for c in after.consenters}
    _wait_sequence_everywhere(network, after.sequence)
    node.admin.remove(CHANNEL)
    wait_removed(node, CHANNEL)
    return after


def test_a_second_and_third_raft_orderer_join_and_one_leaves_while_submits_commit(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    start = _current(network)
    assert [str(c) for c in start.consenters] == [network.orderer_endpoint().address]
    orderer0 = network.orderer_endpoint().address
    with contextlib.ExitStack() as stack:
        load = stack.enter_context(_load(network))
        seen = _wait_progress(load, 0, "before any change")
        orderer1 = stack.enter_context(_orderer_node(network, "orderer1", tmp_path))
        orderer2 = stack.enter_context(_orderer_node(network, "orderer2", tmp_path))

        two = _join_and_add(network, orderer1)
        assert len(two.consenters) == 2
        seen = _wait_progress(load, seen, "with two consenters")

        three = _join_and_add(network, orderer2)
        assert [str(c) for c in three.consenters] == [orderer0, orderer1.address, orderer2.address]
        seen = _wait_progress(load, seen, "with three consenters")
        height = _orderer0_height(network)
        for node in (orderer1, orderer2):
            assert _wait_info(node, "consenter", height).height >= height

        # One of three leaves: the other two keep ordering.
        _remove(network, orderer1)
        seen = _wait_progress(load, seen, "after removing a consenter")

        # Move the channel's orderer endpoints to orderer2 alone: peers and gateways now send
        # transactions there, and the channel still orders; then back.
        _set_endpoints(network, [orderer2.address])
        seen = _wait_progress(load, seen, "with the endpoints moved")
        _set_endpoints(network, [orderer0, orderer2.address])

        # Back to the session's one orderer.
        end = _remove(network, orderer2)
        assert [str(c) for c in end.consenters] == [orderer0]
        assert end.orderer_org("OrdererMSP").endpoints == start.orderer_org("OrdererMSP").endpoints
        _wait_progress(load, seen, "back on one consenter")
        load.stop.set()
    assert load.failures == [], load.failures[:5]
    assert load.committed > 0
