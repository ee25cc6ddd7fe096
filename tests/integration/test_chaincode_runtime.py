"""fabrx's Python chaincode runtime (asset-py) on the real network, called by every kind of client.

The peer CLI, the official Node Gateway client and fabrx call it; it calls the Node chaincode; private
data reaches only collection members while every organization reads its hash; its events reach a
listener; a failing transaction answers at once instead of leaving the peer to its execute timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from netsupport import installed_fabric, node_gateway_calls

import fabrx
from fabrx_network import ConsortiumNetwork

CHANNEL = "pharma"
EXECUTE_TIMEOUT = 5.0  # chaincode_execute_timeout of the test consortium (netsupport)


def asset_py(gateway: fabrx.Gateway) -> fabrx.Contract:
    return gateway.get_network(CHANNEL).get_contract("asset-py")


def height(network: ConsortiumNetwork, org_name: str) -> int:
    org = network.consortium.org(org_name)
    with network.peer_admin(org, org.peers[0]) as admin:
        return admin.chain_info(CHANNEL).height


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``check()``'s value once it stops raising (a peer may commit a block a moment after another)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (fabrx.GatewayError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------ the peer CLI


def peer_cli(network: ConsortiumNetwork, org_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``peer chaincode ...`` as ``org_name``'s admin against its own peer, over TLS."""
    install = installed_fabric()
    org = network.consortium.org(org_name)
    env = {
        **os.environ,
        "FABRIC_CFG_PATH": str(install.config_dir),
        "FABRIC_LOGGING_SPEC": "error:chaincodeCmd=info",
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(network.layout.user_msp(org.name, "admin").path),
        "CORE_PEER_ADDRESS": f"{network.consortium.host}:{org.peers[0].port}",
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": str(network.layout.ca_cert(org.name)),
    }
    return subprocess.run(
        [str(install.binary("peer")), "chaincode", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_peer_cli_invokes_and_queries_the_python_chaincode(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    org = network.consortium.org("Manufacturer")
    orderer = network.orderer_endpoint()
    invoke = {"Args": ["CreateAsset", "cli-asset", "red", "3", "peer-cli", "70"]}
    invoked = peer_cli(
        network,
        "Manufacturer",
        "invoke",
        *("-C", CHANNEL, "-n", "asset-py", "-c", json.dumps(invoke)),
        *("-o", orderer.address, "--tls", "--cafile", str(network.layout.ca_cert("Orderer"))),
        *("--peerAddresses", f"{network.consortium.host}:{org.peers[0].port}"),
        *("--tlsRootCertFiles", str(network.layout.ca_cert(org.name)), "--waitForEvent"),
    )
    assert invoked.returncode == 0, invoked.stderr
    assert "committed with status (VALID)" in invoked.stderr

    queried = peer_cli(
        network,
        "Manufacturer",
        "query",
        "-C",
        CHANNEL,
        "-n",
        "asset-py",
        "-c",
        '{"Args":["ReadAsset","cli-asset"]}',
    )
    assert queried.returncode == 0, queried.stderr
    expected = {"ID": "cli-asset", "Color": "red", "Size": 3, "Owner": "peer-cli", "AppraisedValue": 70}
    assert json.loads(queried.stdout) == expected
    # What the CLI wrote, fabrx reads from another organization's peer.
    assert (
        json.loads(
            eventually(
                lambda: asset_py(gateway_for("HospitalB")).evaluate_transaction("ReadAsset", "cli-asset")
            )
        )
        == expected
    )

    failed = peer_cli(
        network,
        "Manufacturer",
        "query",
        "-C",
        CHANNEL,
        "-n",
        "asset-py",
        "-c",
        '{"Args":["Fail","cli says no"]}',
    )
    assert failed.returncode != 0
    assert 'status:500 message:"cli says no"' in failed.stderr.replace("  ", " ")


# ------------------------------------------------------------------------- the official Node Gateway client


def test_official_node_client_calls_the_python_chaincode(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    results = node_gateway_calls(
        network,
        "Regulator",
        "asset-py",
        [
            {
                "type": "submit",
                "name": "CreateAsset",
                "args": ["node-client-asset", "green", "5", "node", "50"],
            },
            {"type": "evaluate", "name": "ReadAsset", "args": ["node-client-asset"]},
            {
                "type": "submit",
                "name": "PutPrivate",
                "args": ["assetPrivate"],
                "transient": {"node-secret": "from node"},
                "endorsing_organizations": ["RegulatorMSP"],
            },
            {"type": "evaluate", "name": "Fail", "args": ["node sees the failure"]},
        ],
    )
    created, read, private, failed = results
    assert created["ok"] and read["ok"], results
    assert json.loads(read["result"]) == json.loads(created["result"])
    assert json.loads(created["result"])["Owner"] == "node"
    assert private == {"ok": True, "result": '["node-secret"]'}
    assert not failed["ok"] and "node sees the failure" in json.dumps(failed)

    manufacturer = asset_py(gateway_for("Manufacturer"))
    assert json.loads(manufacturer.evaluate_transaction("ReadAsset", "node-client-asset"))["Color"] == "green"
    # The private value Node wrote through the Regulator reached the other member, Manufacturer.
    assert (
        eventually(lambda: manufacturer.evaluate_transaction("GetPrivate", "assetPrivate", "node-secret"))
        == b"from node"
    )


# -------------------------------------------------------------------------------- chaincode to chaincode


def test_python_chaincode_calls_the_node_chaincode_and_returns_its_answer(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    gateway = gateway_for("Manufacturer")
    node_asset = gateway.get_network(CHANNEL).get_contract("asset-node")
    written = node_asset.submit_transaction("CreateAsset", "cc2cc-read", "blue", "1", "node", "10")
    contract = asset_py(gateway)

    assert contract.evaluate_transaction("CallOther", "asset-node", "ReadAsset", '["cc2cc-read"]') == written

    # A write through the call lands in the Node chaincode's namespace.
    via_python = contract.submit_transaction(
        "CallOther", "asset-node", "CreateAsset", '["cc2cc-write", "black", "2", "python", "20"]'
    )
    assert node_asset.evaluate_transaction("ReadAsset", "cc2cc-write") == via_python
    assert json.loads(via_python)["Owner"] == "python"
    # ...and not in asset-py's own.
    with pytest.raises(fabrx.GatewayError, match="the asset cc2cc-write does not exist"):
        contract.evaluate_transaction("ReadAsset", "cc2cc-write")

    with pytest.raises(
        fabrx.GatewayError, match="asset-node ReadAsset failed: the asset cc2cc-none does not exist"
    ):
        contract.evaluate_transaction("CallOther", "asset-node", "ReadAsset", '["cc2cc-none"]')


# ------------------------------------------------------------------------------------------- private data


def test_private_data_is_readable_by_members_only_and_its_hash_by_every_org(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    value = b"unit price 12.40 CNY"
    written = asset_py(gateway_for("Manufacturer")).submit_transaction(
        "PutPrivate",
        "assetPrivate",
        transient={"price-1": value},
        endorsing_organizations=["ManufacturerMSP"],
    )
    assert json.loads(written) == ["price-1"]

    for member in ("Manufacturer", "Regulator"):
        contract = asset_py(gateway_for(member))
        assert (
            eventually(partial(contract.evaluate_transaction, "GetPrivate", "assetPrivate", "price-1"))
            == value
        )

    with pytest.raises(fabrx.GatewayError) as refused:
        asset_py(gateway_for("HospitalA")).evaluate_transaction("GetPrivate", "assetPrivate", "price-1")
    message = str(refused.value)
    assert "does not have read access permission" in message and "assetPrivate" in message
    assert [d.msp_id for d in refused.value.details] == ["HospitalAMSP"]

    expected = hashlib.sha256(value).hexdigest()
    for org in network.consortium.orgs:
        contract = asset_py(gateway_for(org.name))
        digest = eventually(
            partial(contract.evaluate_transaction, "GetPrivateHash", "assetPrivate", "price-1")
        )
        assert digest.decode() == expected, org.name


# ------------------------------------------------------------------------------------------------ events


def test_chaincode_event_reaches_a_listening_fabrx_client(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    start = height(network, "HospitalB")
    listener = gateway_for("HospitalB").get_network(CHANNEL)
    with listener.chaincode_events("asset-py", start_block=start, timeout=30) as events:
        _, commit = asset_py(gateway_for("Manufacturer")).submit_async(
            "EmitEvent", "batch-released", "lot 42"
        )
        assert commit.status().successful
        event = next(events)
    assert event.transaction_id == commit.transaction_id
    assert (event.chaincode_name, event.event_name, event.payload) == (
        "asset-py",
        "batch-released",
        b"lot 42",
    )
    assert event.block_number >= start


# ------------------------------------------------------------------------------------------------ errors


def test_a_failing_transaction_comes_back_as_endorse_error_within_a_second(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    contract = asset_py(gateway_for("Manufacturer"))
    contract.evaluate_transaction("AssetExists", "warm-up")  # the first call may open the connection

    started = time.monotonic()
    with pytest.raises(fabrx.EndorseError) as failed:
        contract.submit_transaction("Fail", "recall refused: batch not found")
    elapsed = time.monotonic() - started

    assert elapsed < 1.0, f"the failure took {elapsed:.2f} s"
    assert elapsed < EXECUTE_TIMEOUT / 5  # the peer did not sit out its execute timeout
    assert failed.value.code == "ABORTED"
    [detail] = failed.value.details
    assert detail.msp_id == "ManufacturerMSP"
    assert detail.message == "chaincode response 500, recall refused: batch not found"

    started = time.monotonic()
    with pytest.raises(fabrx.GatewayError, match="chaincode response 500, evaluated failure"):
        contract.evaluate_transaction("Fail", "evaluated failure")
    assert time.monotonic() - started < 1.0


# ---------------------------------------------------------------------------------------------- metadata


def test_get_metadata_returns_the_contract_schema_with_every_asset_transaction(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    metadata = json.loads(
        asset_py(gateway_for("HospitalA")).evaluate_transaction("org.hyperledger.fabric:GetMetadata")
    )
    contract = metadata["contracts"]["asset"]
    transactions = {t["name"]: t for t in contract["transactions"]}
    assert set(transactions) >= {
        "CreateAsset",
        "ReadAsset",
        "UpdateAsset",
        "DeleteAsset",
        "AssetExists",
        "TransferAsset",
        "GetAllAssets",
        "PutPrivate",
        "GetPrivate",
        "GetPrivateHash",
        "EmitEvent",
        "CallOther",
        "Fail",
    }
    assert "submit" in transactions["CreateAsset"]["tag"] and "evaluate" in transactions["ReadAsset"]["tag"]
    size = {p["name"]: p["schema"] for p in transactions["CreateAsset"]["parameters"]}["size"]
    assert size["type"] == "integer"
