"""The BFT variant of the default consortium orders real transactions, and its consenter set changes.

The shared session network runs raft1; this module brings up ``bft4`` (four orderers, Fabric 3's
SmartBFT) on ports of its own, runs the supervision scenario through it, and checks that every orderer
and peer holds the same chain. Then a fifth orderer joins the running channel through the channel
participation API, becomes a consenter by a configuration update signed by the orderer organization's
admin, and is removed again, while the manufacturer keeps submitting from eight threads: no submit may
fail and every acknowledged one must be on the ledger. Then the network is taken down again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fabric_protos.common import configuration_pb2
from loadsupport import BatchLoad, every_one_committed
from netsupport import DEFAULT_CONSORTIUM, TEST_PORT_BASE, caught_up, installed_fabric
from orderersupport import orderer_node, submit_signed_by_orderer_org, wait_info, wait_removed

from fabrx.admin import (
    ChannelConfig,
    add_consenter,
    describe_update,
    fetch_config_block,
    new_channel_update,
    read_channel_config,
    remove_consenter,
)
from fabrx.admin.configedit import bft_block_validation_policy
from fabrx.pharma import PharmaClients
from fabrx.pharma.scenario import ScenarioReport, run_scenario
from fabrx_network import ConsortiumNetwork, open_network
from fabrx_network.admins import org_admin
from fabrx_network.config import Orderer

BFT_PORT_BASE = TEST_PORT_BASE + 4000  # clear of the shared network and of test_network_failures
# The fifth orderer's ports, past every port the bft4 consortium allocates from BFT_PORT_BASE.
FIFTH = Orderer(
    name="orderer4",
    port=BFT_PORT_BASE + 400,
    admin_port=BFT_PORT_BASE + 401,
    operations_port=BFT_PORT_BASE + 402,
)
CHANNEL = "pharma"


@pytest.fixture(scope="module")
def bft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsortiumNetwork]:
    root = tmp_path_factory.mktemp("bft4")
    data = yaml.safe_load(DEFAULT_CONSORTIUM.read_text(encoding="utf-8"))
    data["port_base"] = BFT_PORT_BASE
    config = root / "consortium.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    network = open_network(config, root / "run", consensus="bft4")
    try:
        network.up(fabric=installed_fabric())
        yield network
    finally:
        network.down(purge=True)


@pytest.fixture(scope="module")
def scenario(bft: ConsortiumNetwork) -> ScenarioReport:
    return run_scenario(bft)


def _same_heights(network: ConsortiumNetwork, timeout: float = 20.0) -> dict[str, int | None]:
    """Every orderer's and peer's height of ``pharma``, once they agree (peers commit just after)."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = network.status().nodes
        heights = {n.name: n.heights.get(CHANNEL) for n in nodes if n.kind in ("orderer", "peer")}
        if len(set(heights.values())) == 1 or time.monotonic() > deadline:
            return heights
        time.sleep(0.5)


def test_bft4_orders_the_pharma_scenario_and_every_node_agrees(
    bft: ConsortiumNetwork, scenario: ScenarioReport
) -> None:
    assert bft.consortium.orderer_org.consensus_type == "BFT"
    assert scenario.ok, scenario.render()
    heights = _same_heights(bft)
    assert sum(name.startswith("orderer") for name in heights) == 4, heights
    assert len(set(heights.values())) == 1, heights
    assert bft.status().healthy


def _current(network: ConsortiumNetwork) -> ChannelConfig:
    return read_channel_config(org_admin(network, "Regulator").require_peer(), CHANNEL)


def _block_validation_matches_consenters(config: ChannelConfig) -> bool:
    """The channel's BlockValidation policy is, byte for byte, the one fabrx derives from its consenters
    (a BFT orderer refuses a configuration where it is not)."""
    orderer = config.channel_group.groups["Orderer"]
    consenters = configuration_pb2.Orderers.FromString(orderer.values["Orderers"].value).consenter_mapping
    return orderer.policies["BlockValidation"].policy == bft_block_validation_policy(consenters)


def test_a_fifth_bft_orderer_joins_as_a_consenter_and_leaves_while_submits_commit(
    bft: ConsortiumNetwork, scenario: ScenarioReport, tmp_path: Path
) -> None:
    start = _current(bft)
    assert [c.id for c in start.consenters] == [1, 2, 3, 4]
    # configtxgen wrote the genesis block's policy; fabrx computes the same for later changes.
    assert _block_validation_matches_consenters(start)
    orderer0 = bft.orderer_admin("orderer0")
    orderer_org = org_admin(bft, "Orderer")
    clients = PharmaClients(bft)
    load = BatchLoad(clients.manufacturer)
    with clients, orderer_node(bft, FIFTH, tmp_path) as node:
        load.start()
        try:
            seen = load.wait_more_than(0, "before the fifth orderer joined")
            # It joins with the latest config block as a follower and replicates the channel.
            block = fetch_config_block(
                orderer_org.require_orderer(), orderer_org.identity, orderer_org.signer, CHANNEL
            )
            assert node.admin.join(block).info.consensus_relation == "follower"
            wait_info(node, CHANNEL, "follower", orderer0.info(CHANNEL).height)

            host, port = bft.consortium.host, FIFTH.port
            before = _current(bft)
            update = new_channel_update(
                before,
                add_consenter(before, "OrdererMSP", host, port, node.tls_cert, identity=node.enrollment_cert),
            )
            assert describe_update(update.update, before) == (
                "sets the block validation policy to the signatures of 4 of the 5 consenters",
                f"adds consenter {node.address}",
            )
            five = submit_signed_by_orderer_org(bft, update)
            assert [(c.id, str(c)) for c in five.consenters][-1] == (5, node.address)
            assert _block_validation_matches_consenters(five)
            wait_info(node, CHANNEL, "consenter", orderer0.info(CHANNEL).height)
            seen = load.wait_more_than(seen, "with five consenters")
            # It keeps up with the channel as a consenter.
            wait_info(node, CHANNEL, "consenter", orderer0.info(CHANNEL).height)

            # It leaves: the other four keep ordering.
            before = _current(bft)
            update = new_channel_update(before, remove_consenter(before, host, port))
            assert describe_update(update.update, before) == (
                "sets the block validation policy to the signatures of 3 of the 4 consenters",
                f"removes consenter {node.address}",
            )
            four = submit_signed_by_orderer_org(bft, update)
            assert [c.id for c in four.consenters] == [1, 2, 3, 4]
            assert _block_validation_matches_consenters(four)
            node.admin.remove(CHANNEL)
            wait_removed(node, CHANNEL)
            load.wait_more_than(seen, "after the fifth consenter left")
        finally:
            load.stop()
        assert load.failures == [], load.failures[:5]
        caught_up(bft, "Regulator", "Manufacturer")
        every_one_committed(clients.gateway("Regulator").get_network(CHANNEL), load.acknowledged)
    heights = _same_heights(bft)
    assert len(set(heights.values())) == 1, heights
