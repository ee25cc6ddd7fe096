"""The core flows against Fabric 2.5 LTS (`make test-compat`): evaluate, submit, private data, events.

The consortium is a small one (Raft orderer, three organizations) on Fabric 2.5.16 built from
``../shared/fabric/fabric-2.5.16-src.tar.xz``; it runs fabrx's Python asset chaincode, so the client,
the chaincode runtime (without the 3.1 batch messages, which a 2.5 peer does not offer) and the network
tooling are all exercised against the older peer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import fabrx
from fabrx_network import ConsortiumNetwork, ensure_fabric, open_network

REPO = Path(__file__).resolve().parents[2]
VERSION = "2.5.16"

CONSORTIUM = {
    "name": "compat25",
    "fabric": {"version": VERSION, "ca_version": "1.5.21"},
    "port_base": 23050,
    "chaincode_execute_timeout": "5s",
    "orderer_org": {
        "name": "Orderer",
        "consensus": "raft1",
        "variants": {"raft1": {"type": "etcdraft", "orderers": [{"name": "orderer0"}]}},
    },
    "orgs": [
        {"name": "Regulator", "role": "regulator", "peers": [{"name": "peer0"}]},
        {"name": "Manufacturer", "role": "manufacturer", "peers": [{"name": "peer0"}]},
        {"name": "HospitalA", "role": "hospital", "peers": [{"name": "peer0"}]},
    ],
    "channels": [{"name": "pharma"}],
    "chaincodes": [
        {
            "name": "asset-py",
            "channel": "pharma",
            "runtime": {"python": "asset:AssetContract"},
            "endorsement_policy": "OR('RegulatorMSP.peer', 'ManufacturerMSP.peer')",
            "collections": [
                {
                    "name": "assetPrivate",
                    "policy": "OR('RegulatorMSP.member', 'ManufacturerMSP.member')",
                    "max_peer_count": 1,
                }
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsortiumNetwork]:
    install = ensure_fabric(VERSION)
    root = tmp_path_factory.mktemp("compat25")
    shutil.copy(REPO / "examples" / "chaincode" / "asset.py", root / "asset.py")
    (root / "consortium.yaml").write_text(yaml.safe_dump(CONSORTIUM, sort_keys=False), encoding="utf-8")
    net = open_network(root / "consortium.yaml", root / "run")
    try:
        net.up(fabric=install)
        yield net
    finally:
        net.down()
        assert not [n for n in net.supervisor.processes if net.supervisor.is_running(n)]


def _gateway(network: ConsortiumNetwork, org_name: str) -> fabrx.Gateway:
    org = network.consortium.org(org_name)
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    return fabrx.connect(network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer)


def test_peers_run_fabric_2_5(network: ConsortiumNetwork) -> None:
    versions = {n.name: n.version for n in network.status().nodes if n.kind in ("peer", "orderer")}
    assert set(versions.values()) == {VERSION}, versions


def test_submit_evaluate_and_errors_on_fabric_2_5(network: ConsortiumNetwork) -> None:
    with _gateway(network, "HospitalA") as gateway:
        contract = gateway.get_network("pharma").get_contract("asset-py")
        created = json.loads(contract.submit_transaction("CreateAsset", "c1", "red", "1", "hospital", "10"))
        assert json.loads(contract.evaluate_transaction("ReadAsset", "c1")) == created
        with pytest.raises(fabrx.EndorseError, match="boom"):
            contract.submit_transaction("Fail", "boom")


def test_private_data_on_fabric_2_5(network: ConsortiumNetwork) -> None:
    with _gateway(network, "Manufacturer") as gateway:
        contract = gateway.get_network("pharma").get_contract("asset-py")
        contract.submit_transaction(
            "PutPrivate",
            "assetPrivate",
            transient={"p1": b"secret terms"},
            endorsing_organizations=["ManufacturerMSP"],
        )
        assert contract.evaluate_transaction("GetPrivate", "assetPrivate", "p1") == b"secret terms"
    with _gateway(network, "HospitalA") as gateway:
        contract = gateway.get_network("pharma").get_contract("asset-py")
        digest = contract.evaluate_transaction("GetPrivateHash", "assetPrivate", "p1")
        assert digest.decode() == hashlib.sha256(b"secret terms").hexdigest()
        with pytest.raises(fabrx.GatewayError):
            contract.evaluate_transaction("GetPrivate", "assetPrivate", "p1")


def test_chaincode_events_on_fabric_2_5(network: ConsortiumNetwork) -> None:
    with _gateway(network, "Regulator") as gateway:
        net = gateway.get_network("pharma")
        contract = net.get_contract("asset-py")
        _, commit = contract.submit_async("EmitEvent", "compat-event", "payload-25")
        start = commit.status().block_number
        deadline = time.monotonic() + 30
        with net.chaincode_events("asset-py", start_block=start) as events:
            for event in events:
                if event.event_name == "compat-event":
                    assert event.payload == b"payload-25"
                    break
                assert time.monotonic() < deadline
