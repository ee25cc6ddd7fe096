"""fabrx and the official Node Gateway client on the same network: each reads what the other wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from netsupport import INTEROP

import fabrx
from fabrx_network import ConsortiumNetwork


def _node_calls(
    network: ConsortiumNetwork, org_name: str, chaincode: str, calls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    org = network.consortium.org(org_name)
    msp = network.client_msp(org)
    config = {
        "peer_address": f"{network.consortium.host}:{org.peers[0].port}",
        "tls_root_cert_path": str(network.layout.ca_cert(org.name)),
        "msp_id": org.msp_id,
        "cert_path": str(msp / "signcerts" / "cert.pem"),
        "key_path": str(next((msp / "keystore").iterdir())),
        "channel": "pharma",
        "chaincode": chaincode,
        "calls": calls,
    }
    node = shutil.which("node")
    assert node, "node is required for interop tests (the machine kind provides Node 20)"
    completed = subprocess.run(
        [node, str(INTEROP / "gateway-call.js")],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
    return results


def test_node_client_reads_what_fabrx_wrote_and_fabrx_reads_what_node_wrote(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    contract = gateway_for("Manufacturer").get_network("pharma").get_contract("asset-node")
    written = contract.submit_transaction("CreateAsset", "interop-fabrx", "white", "3", "fabrx", "30")

    node_results = _node_calls(
        network,
        "HospitalB",
        "asset-node",
        [
            {"type": "evaluate", "name": "ReadAsset", "args": ["interop-fabrx"]},
            {"type": "submit", "name": "CreateAsset", "args": ["interop-node", "black", "4", "node", "40"]},
            {"type": "submit", "name": "Fail", "args": ["refused on purpose"]},
        ],
    )
    assert node_results[0] == {"ok": True, "result": written.decode()}
    assert node_results[1]["ok"], node_results[1]
    assert not node_results[2]["ok"] and "refused on purpose" in json.dumps(node_results[2])

    read_back = json.loads(contract.evaluate_transaction("ReadAsset", "interop-node"))
    assert read_back == json.loads(node_results[1]["result"])
