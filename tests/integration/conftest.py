"""The real network of the integration suite: the default consortium, brought up once per session.

Every integration test runs against real Fabric 3.1.5 processes (CAs, orderer, six peers, chaincode
servers) started by fabrx's own tooling, exactly as `fabrx network up` does; at the end the network is
taken down and the suite checks that nothing of it is left running.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
import yaml
from netsupport import INTEROP, REPO, consortium_for_tests, installed_fabric

import fabrx
from fabrx_network import ConsortiumNetwork, open_network

PYTHON_ASSET = {
    "name": "asset-py",
    "channel": "pharma",
    "version": "1.0",
    "runtime": {"python": "asset:AssetContract"},
    # The example chaincodes run one server for every organization's peers (the shared server's path);
    # the pharma chaincode runs each organization's own server.
    "server": {"shared": True},
    "endorsement_policy": "OR('RegulatorMSP.peer', 'ManufacturerMSP.peer', 'HospitalAMSP.peer')",
    "collections": [
        {
            "name": "assetPrivate",
            "policy": "OR('RegulatorMSP.member', 'ManufacturerMSP.member')",
            "required_peer_count": 0,
            "max_peer_count": 1,
            "member_only_read": True,
            "member_only_write": True,
        }
    ],
}

NODE_ASSET = {
    "name": "asset-node",
    "channel": "pharma",
    "version": "1.0",
    "runtime": {"node": str(INTEROP / "chaincode")},
    "server": {"shared": True},
    "endorsement_policy": "OR('RegulatorMSP.peer', 'ManufacturerMSP.peer', 'HospitalAMSP.peer')",
}


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsortiumNetwork]:
    """The running test consortium. Brought up once; stopped (and checked stopped) at session end."""
    install = installed_fabric()
    root = tmp_path_factory.mktemp("consortium")
    config = root / "consortium.yaml"
    # The Python asset chaincode is fabrx's example, importable from the consortium file's folder.
    shutil.copy(REPO / "examples" / "chaincode" / "asset.py", root / "asset.py")
    data = consortium_for_tests([PYTHON_ASSET, NODE_ASSET])
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    net = open_network(config, root / "run")
    try:
        net.up(fabric=install)
        yield net
    finally:
        stopped = net.down()
        leftover = [name for name in net.supervisor.processes if net.supervisor.is_running(name)]
        assert not leftover, f"still running after down: {leftover} (stopped {stopped})"


@pytest.fixture(scope="session")
def gateway_for(network: ConsortiumNetwork) -> Iterator[Callable[[str], fabrx.Gateway]]:
    """``gateway_for("HospitalA")``: a Gateway as that organization's SDK client, on its own peer."""
    opened: dict[str, fabrx.Gateway] = {}

    def connect(org_name: str) -> fabrx.Gateway:
        if org_name not in opened:
            org = network.consortium.org(org_name)
            identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
            opened[org_name] = fabrx.connect(
                network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer
            )
        return opened[org_name]

    yield connect
    for gateway in opened.values():
        gateway.close()
