"""The chaincode server processes of a consortium: one per organization, each told whose peers it serves."""

from __future__ import annotations

from pathlib import Path

from fabrx_network.chaincodes import PEER_MSPID_VARIABLE, chaincode_process, chaincode_servers
from fabrx_network.config import load_consortium
from fabrx_network.layout import RunLayout

DEFAULT_CONSORTIUM = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"


def test_each_organizations_server_is_told_the_msp_id_of_the_peers_it_serves(tmp_path: Path) -> None:
    consortium = load_consortium(DEFAULT_CONSORTIUM)
    chaincode = consortium.chaincodes[0]
    servers = chaincode_servers(consortium, chaincode)
    assert len(servers) == len(consortium.orgs)
    layout = RunLayout(tmp_path)
    for org in servers:
        assert org is not None
        spec = chaincode_process(consortium, layout, chaincode, "pharma_1.0:00", tmp_path, org)
        assert spec.env[PEER_MSPID_VARIABLE] == org.msp_id


def test_a_shared_server_serves_every_organization_and_names_none(tmp_path: Path) -> None:
    consortium = load_consortium(DEFAULT_CONSORTIUM)
    chaincode = consortium.chaincodes[0]
    shared = chaincode.model_copy(update={"server": chaincode.server.model_copy(update={"shared": True})})
    assert chaincode_servers(consortium, shared) == (None,)
    spec = chaincode_process(consortium, RunLayout(tmp_path), shared, "pharma_1.0:00", tmp_path)
    assert PEER_MSPID_VARIABLE not in spec.env
