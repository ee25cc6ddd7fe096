"""A failed `up` names the node, its log or the missing program, and stops what it started itself."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
import yaml
from netsupport import TEST_PORT_BASE, installed_fabric

from fabrx_network import ConsortiumNetwork, NetworkError, ProcessError, UpError, open_network

# Two organizations are enough to exercise the failure paths; own ports, away from the shared network.
SMALL = {
    "name": "failures",
    "port_base": TEST_PORT_BASE + 500,  # inside this suite's own block of ports, clear of the shared network
    "orderer_org": {
        "name": "Orderer",
        "consensus": "raft1",
        "variants": {"raft1": {"type": "etcdraft", "orderers": [{"name": "orderer0"}]}},
    },
    "orgs": [
        {"name": "Regulator", "role": "regulator", "peers": [{"name": "peer0"}]},
        {"name": "HospitalA", "role": "hospital", "peers": [{"name": "peer0"}]},
    ],
    "channels": [{"name": "pharma"}],
}


def _small_network(tmp_path: Path) -> ConsortiumNetwork:
    config = tmp_path / "consortium.yaml"
    config.write_text(yaml.safe_dump(SMALL), encoding="utf-8")
    return open_network(config, tmp_path / "run")


def _running(network: ConsortiumNetwork) -> list[str]:
    return [name for name in network.supervisor.processes if network.supervisor.is_running(name)]


def test_busy_peer_port_fails_up_naming_node_and_port_and_stops_what_it_started(tmp_path: Path) -> None:
    network = _small_network(tmp_path)
    peer = network.consortium.org("HospitalA").peers[0]
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((network.consortium.host, peer.port))
        blocker.listen()
        with pytest.raises(UpError, match=rf"peer0\.HospitalA needs .*:{peer.port}") as raised:
            network.up(fabric=installed_fabric())
    assert _running(network) == []
    # The certificate authorities had been started by this run, so it stopped them again, and says so.
    assert isinstance(raised.value.cause, ProcessError)
    assert set(raised.value.stopped) == {"ca.Orderer", "ca.Regulator", "ca.HospitalA"}
    assert "network up failed: stopped what this run had started: " in str(raised.value)
    assert "no node of this run directory is running" in str(raised.value)
    # Nothing was lost: with the port free, the same run directory comes up.
    try:
        network.up(fabric=installed_fabric())
        assert network.status().healthy
    finally:
        network.down(purge=True)
    assert _running(network) == []


def test_missing_fabric_binaries_are_named_with_the_fix(tmp_path: Path) -> None:
    network = _small_network(tmp_path)
    real = installed_fabric()
    broken = dataclasses.replace(real, bin_dir=tmp_path / "no-bin", ca_bin_dir=tmp_path / "no-ca-bin")
    with pytest.raises(NetworkError, match=r"fabrx fabric install"):
        network.up(fabric=broken)
    assert _running(network) == []
