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
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from orderersupport import (
    current_config,
    join_and_add,
    orderer0_height,
    raft3_orderer_node,
    remove_node,
    set_endpoints,
    wait_info,
)

import fabrx
from fabrx_network import ConsortiumNetwork

pytestmark = pytest.mark.integration

CHANNEL = "pharma"
CLIENTS = 4  # concurrent submitters while the consenter set changes


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


def test_a_second_and_third_raft_orderer_join_and_one_leaves_while_submits_commit(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    start = current_config(network, CHANNEL)
    assert [str(c) for c in start.consenters] == [network.orderer_endpoint().address]
    orderer0 = network.orderer_endpoint().address
    with contextlib.ExitStack() as stack:
        load = stack.enter_context(_load(network))
        seen = _wait_progress(load, 0, "before any change")
        orderer1 = stack.enter_context(raft3_orderer_node(network, "orderer1", tmp_path))
        orderer2 = stack.enter_context(raft3_orderer_node(network, "orderer2", tmp_path))

        two = join_and_add(network, orderer1, CHANNEL)
        assert len(two.consenters) == 2
        seen = _wait_progress(load, seen, "with two consenters")

        three = join_and_add(network, orderer2, CHANNEL)
        assert [str(c) for c in three.consenters] == [orderer0, orderer1.address, orderer2.address]
        seen = _wait_progress(load, seen, "with three consenters")
        height = orderer0_height(network, CHANNEL)
        for node in (orderer1, orderer2):
            assert wait_info(node, CHANNEL, "consenter", height).height >= height

        # One of three leaves: the other two keep ordering.
        remove_node(network, orderer1, CHANNEL)
        seen = _wait_progress(load, seen, "after removing a consenter")

        # Move the channel's orderer endpoints to orderer2 alone: peers and gateways now send
        # transactions there, and the channel still orders; then back.
        set_endpoints(network, CHANNEL, [orderer2.address])
        seen = _wait_progress(load, seen, "with the endpoints moved")
        set_endpoints(network, CHANNEL, [orderer0, orderer2.address])

        # Back to the session's one orderer.
        end = remove_node(network, orderer2, CHANNEL)
        assert [str(c) for c in end.consenters] == [orderer0]
        assert end.orderer_org("OrdererMSP").endpoints == start.orderer_org("OrdererMSP").endpoints
        _wait_progress(load, seen, "back on one consenter")
        load.stop.set()
    assert load.failures == [], load.failures[:5]
    assert load.committed > 0
