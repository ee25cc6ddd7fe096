"""The run directory layout names every path the way its module docstring documents it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fabrx_network.layout import RunLayout, ca_node, orderer_node, peer_node

ROOT = Path("/srv/fabrx/run/pharma")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (lambda x: x.state_file, "state.json"),
        (lambda x: x.configtx_file, "config/configtx.yaml"),
        (lambda x: x.channel_block("pharma"), "config/pharma.block"),
        (lambda x: x.org_msp("Regulator").path, "orgs/Regulator/msp"),
        (lambda x: x.org_msp("Regulator").ca_cert, "orgs/Regulator/msp/cacerts/ca.pem"),
        (lambda x: x.org_msp("Regulator").tls_ca_cert, "orgs/Regulator/msp/tlscacerts/ca.pem"),
        (lambda x: x.ca_home("Regulator"), "orgs/Regulator/ca"),
        (lambda x: x.ca_cert("Regulator"), "orgs/Regulator/ca/ca-cert.pem"),
        (lambda x: x.ca_tls("Regulator").key, "orgs/Regulator/ca/tls/server.key"),
        (lambda x: x.ca_bootstrap_secret("Regulator"), "orgs/Regulator/ca/bootstrap-admin.secret"),
        (lambda x: x.ca_registrar_home("Regulator"), "orgs/Regulator/ca/registrar"),
        (
            lambda x: x.peer_msp("Regulator", "peer0").signcert,
            "orgs/Regulator/peers/peer0/msp/signcerts/cert.pem",
        ),
        (lambda x: x.peer_tls("Regulator", "peer0").ca_cert, "orgs/Regulator/peers/peer0/tls/ca.crt"),
        (
            lambda x: x.orderer_tls("Orderer", "orderer1").cert,
            "orgs/Orderer/orderers/orderer1/tls/server.crt",
        ),
        (
            lambda x: x.user_msp("HospitalA", "client").config_yaml,
            "orgs/HospitalA/users/client/msp/config.yaml",
        ),
        (lambda x: x.user_tls("Orderer", "admin").key, "orgs/Orderer/users/admin/tls/client.key"),
        (lambda x: x.node_data("peer0.Regulator"), "nodes/peer0.Regulator/data"),
        (lambda x: x.peer_snapshots("peer0.Regulator"), "nodes/peer0.Regulator/data/snapshots"),
        (lambda x: x.orderer_ledger("orderer0.Orderer"), "nodes/orderer0.Orderer/data/ledger"),
        (lambda x: x.orderer_wal("orderer0.Orderer"), "nodes/orderer0.Orderer/data/consensus/wal"),
        (lambda x: x.orderer_snapshots("orderer0.Orderer"), "nodes/orderer0.Orderer/data/consensus/snapshot"),
        (lambda x: x.node_env_file("ca.Regulator"), "nodes/ca.Regulator/env"),
        (lambda x: x.log_file("peer0.Regulator"), "logs/peer0.Regulator.log"),
        (lambda x: x.ccaas_builder, "builders/ccaas"),
        (lambda x: x.chaincode_dir("pharma"), "chaincode/pharma"),
    ],
)
def test_layout_paths_follow_the_documented_tree(path: Callable[[RunLayout], Path], expected: str) -> None:
    assert path(RunLayout(ROOT)) == ROOT / expected


def test_node_names_join_node_and_organization() -> None:
    assert peer_node("Regulator", "peer0") == "peer0.Regulator"
    assert orderer_node("Orderer", "orderer0") == "orderer0.Orderer"
    assert ca_node("HospitalB") == "ca.HospitalB"


def test_relative_root_becomes_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)

    layout = RunLayout(Path(".fabrx/pharma"))

    assert layout.root == tmp_path / ".fabrx" / "pharma"
    assert layout == RunLayout(tmp_path / ".fabrx" / "pharma")
    assert not (tmp_path / ".fabrx").exists()
