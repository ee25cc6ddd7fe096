"""The BFT variant of the default consortium orders real transactions: the whole pharma scenario.

The shared session network runs raft1; this test brings up ``bft4`` (four orderers, Fabric 3's
SmartBFT) on ports of its own, runs the supervision scenario through it, and checks that every orderer
and peer holds the same chain. Then it takes the network down again.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from netsupport import DEFAULT_CONSORTIUM, TEST_PORT_BASE, installed_fabric

from fabrx.pharma.scenario import run_scenario
from fabrx_network import ConsortiumNetwork, open_network

BFT_PORT_BASE = TEST_PORT_BASE + 4000  # clear of the shared network and of test_network_failures


def _same_heights(network: ConsortiumNetwork, timeout: float = 20.0) -> dict[str, int | None]:
    """Every orderer's and peer's height of ``pharma``, once they agree (peers commit just after)."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = network.status().nodes
        heights = {n.name: n.heights.get("pharma") for n in nodes if n.kind in ("orderer", "peer")}
        if len(set(heights.values())) == 1 or time.monotonic() > deadline:
            return heights
        time.sleep(0.5)


def test_bft4_orders_the_pharma_scenario_and_every_node_agrees(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_CONSORTIUM.read_text(encoding="utf-8"))
    data["port_base"] = BFT_PORT_BASE
    config = tmp_path / "consortium.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    network = open_network(config, tmp_path / "run", consensus="bft4")
    try:
        network.up(fabric=installed_fabric())
        assert network.consortium.orderer_org.consensus_type == "BFT"
        report = run_scenario(network)
        assert report.ok, report.render()
        heights = _same_heights(network)
        assert sum(name.startswith("orderer") for name in heights) == 4, heights
        assert len(set(heights.values())) == 1, heights
        assert network.status().healthy
    finally:
        network.down(purge=True)
