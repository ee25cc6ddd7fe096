"""fabrx and the official Node Gateway client on the same network: each reads what the other wrote."""

from __future__ import annotations

import json
from collections.abc import Callable

from netsupport import caught_up, node_gateway_calls

import fabrx
from fabrx_network import ConsortiumNetwork


def test_node_client_reads_what_fabrx_wrote_and_fabrx_reads_what_node_wrote(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    contract = gateway_for("Manufacturer").get_network("pharma").get_contract("asset-node")
    written = contract.submit_transaction("CreateAsset", "interop-fabrx", "white", "3", "fabrx", "30")
    caught_up(network, "HospitalB", "Manufacturer")

    node_results = node_gateway_calls(
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

    caught_up(network, "Manufacturer", "HospitalB")
    read_back = json.loads(contract.evaluate_transaction("ReadAsset", "interop-node"))
    assert read_back == json.loads(node_results[1]["result"])
