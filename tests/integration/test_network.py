"""The consortium brought up by fabrx: heights agree, a chaincode answers, a peer restarts and catches up."""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from netsupport import caught_up

import fabrx
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork, ProcessError


def _peer_heights(network: ConsortiumNetwork) -> dict[str, int]:
    heights = {}
    for org in network.consortium.orgs:
        for peer in org.peers:
            with network.peer_admin(org, peer) as admin:
                heights[f"{peer.name}.{org.name}"] = admin.chain_info("pharma").height
    return heights


def _wait_same_height(network: ConsortiumNetwork, minimum: int, timeout: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        heights = _peer_heights(network)
        if len(set(heights.values())) == 1 and min(heights.values()) >= minimum:
            return heights
        if time.monotonic() > deadline:
            return heights
        time.sleep(0.2)


def test_every_peer_joined_and_reaches_the_same_height(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    contract = gateway_for("Regulator").get_network("pharma").get_contract("asset-node")
    contract.submit_transaction("CreateAsset", "height-probe", "red", "1", "regulator", "10")
    with network.peer_admin(
        network.consortium.org("Regulator"), network.consortium.org("Regulator").peers[0]
    ) as a:
        target = a.chain_info("pharma").height
    heights = _wait_same_height(network, target)
    assert set(heights.values()) == {target}, heights
    assert len(heights) == 6


def test_deployed_node_chaincode_answers_through_the_gateway(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    contract = gateway_for("HospitalA").get_network("pharma").get_contract("asset-node")
    created = json.loads(
        contract.submit_transaction("CreateAsset", "asset-gw-1", "blue", "5", "hospital-a", "300")
    )
    assert created["Owner"] == "hospital-a"
    caught_up(network, "Manufacturer", "HospitalA")
    read = json.loads(
        gateway_for("Manufacturer")
        .get_network("pharma")
        .get_contract("asset-node")
        .evaluate_transaction("ReadAsset", "asset-gw-1")
    )
    assert read == created


def test_status_reports_every_node_healthy_with_versions_and_chaincodes(network: ConsortiumNetwork) -> None:
    status = network.status()
    assert status.healthy, status.render()
    kinds = sorted(n.kind for n in status.nodes)
    assert kinds.count("ca") == 7 and kinds.count("peer") == 6 and kinds.count("orderer") == 1
    for node in status.nodes:
        if node.kind in ("peer", "orderer"):
            assert node.version == "3.1.5"
            assert node.heights.get("pharma", 0) >= 1
    assert {d["name"] for d in status.chaincodes["pharma"]} >= {"asset-node"}


def test_cli_status_json_matches_the_library(network: ConsortiumNetwork) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(network.base_dir / "consortium.yaml"),
            "--run-dir",
            str(network.run_dir),
            "--json",
            "network",
            "status",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["healthy"] is True
    assert {n["name"] for n in data["nodes"]} >= {"peer0.HospitalB", "orderer0.Orderer", "ca.Regulator"}
    where = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]
    text = CliRunner().invoke(cli, [*where, "network", "status"])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[1].split() == ["NODE", "KIND", "STATE", "HEALTH", "VERSION", "ADDRESS", "HEIGHT", "(LAG)"]
    rows = {line.split()[0]: line.split() for line in lines[3 : 3 + len(data["nodes"])]}
    assert set(rows) == {n["name"] for n in data["nodes"]}
    peer = next(n for n in data["nodes"] if n["name"] == "peer0.HospitalB")
    assert rows["peer0.HospitalB"][1:6] == ["peer", "up", "healthy", "3.1.5", peer["address"]]
    assert f"pharma={peer['heights']['pharma']}" in rows["peer0.HospitalB"]


def test_up_again_is_idempotent_and_starts_nothing(network: ConsortiumNetwork) -> None:
    report = network.up()
    assert report.started == []


def test_cli_chaincode_deploy_of_a_deployed_chaincode_shows_each_step_and_changes_nothing(
    network: ConsortiumNetwork,
) -> None:
    where = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]
    before = {d["name"]: d["sequence"] for d in network.status().chaincodes["pharma"]}
    result = CliRunner().invoke(cli, [*where, "chaincode", "deploy", "asset-node"])
    assert result.exit_code == 0, result.output
    steps = result.stderr.splitlines()
    assert steps[:2] == ["chaincode asset-node ...", "asset-node: package for its chaincode server(s)"]
    channel = network.consortium.channel("pharma")
    peers = [p for org in network.consortium.channel_orgs(channel) for p in org.peers]
    assert len([s for s in steps if s.startswith("asset-node: install on ")]) == len(peers)
    assert "asset-node: approve for HospitalAMSP" in steps
    assert steps[-1].startswith("asset-node: commit on pharma (sequence ")
    assert "asset-node" in result.stdout  # its server's package id
    assert {d["name"]: d["sequence"] for d in network.status().chaincodes["pharma"]} == before


def test_stopped_peer_is_reported_down_then_restarts_and_catches_up(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    node = "peer0.DistributorB"
    assert network.stop_node(node)
    status = network.status()
    down = {n.name: n for n in status.nodes}[node]
    assert not down.running
    assert not status.healthy
    rendered = status.render().splitlines()
    row = next(i for i, line in enumerate(rendered) if line.split()[:1] == [node])
    assert rendered[row].split()[1:3] == ["peer", "down"]
    assert rendered[row + 1] == f"      down; last log line: {down.reason}" and down.reason

    contract = gateway_for("Regulator").get_network("pharma").get_contract("asset-node")
    for i in range(3):
        contract.submit_transaction("CreateAsset", f"while-down-{i}", "green", "1", "regulator", "1")

    # A busy port is reported with the node, the port and who holds it; nothing is started.
    org = network.consortium.org("DistributorB")
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((network.consortium.host, org.peers[0].port))
        blocker.listen()
        with pytest.raises(ProcessError, match=rf"{node} needs .*:{org.peers[0].port}"):
            network.start_node(node)
    assert not network.supervisor.is_running(node)

    network.start_node(node)
    with network.peer_admin(
        network.consortium.org("Regulator"), network.consortium.org("Regulator").peers[0]
    ) as a:
        target = a.chain_info("pharma").height
    heights = _wait_same_height(network, target)
    assert heights[node] == target, heights
    assert network.status().healthy
    network.wait_converged()  # the session network goes on serving later tests


def test_cli_chaincode_calls_give_scripts_decoded_json_and_a_json_error_with_an_exit_code(
    network: ConsortiumNetwork,
) -> None:
    base = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]
    call = ["--org", "HospitalA", "asset-py"]

    created = CliRunner().invoke(
        cli,
        [*base, "chaincode", "invoke", *call, "CreateAsset", "cli-json", "green", "4", "ops", "90", "--json"],
    )
    assert created.exit_code == 0, created.output
    queried = CliRunner().invoke(cli, [*base, "chaincode", "query", "--json", *call, "ReadAsset", "cli-json"])
    assert queried.exit_code == 0, queried.output
    assert json.loads(queried.stdout) == {
        "format": "json",
        "result": {"ID": "cli-json", "Color": "green", "Size": 4, "Owner": "ops", "AppraisedValue": 90},
    }

    failed = CliRunner().invoke(cli, [*base, "chaincode", "query", *call, "Fail", "ops says no", "--json"])
    assert failed.exit_code == 1
    assert failed.stdout == ""
    error = json.loads(failed.stderr)
    assert "ops says no" in error["error"] and error["problems"][0]["message"]


def test_up_writes_a_connection_profile_per_organization_that_the_sdk_connects_with(
    network: ConsortiumNetwork,
) -> None:
    for org in network.consortium.orgs:
        path = network.layout.connection_profile(org.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        profile = json.loads(path.read_text())
        assert profile["client"]["organization"] == org.name
        assert profile["organizations"][org.name]["mspid"] == org.msp_id
        gateway_peer = profile["organizations"][org.name]["peers"][0]
        entry = profile["peers"][gateway_peer]
        assert entry["url"] == f"grpcs://{network.consortium.host}:{org.peers[0].port}"
        assert (
            entry["grpcOptions"]["ssl-target-name-override"]
            == gateway_peer
            == f"{org.peers[0].name}.{org.name}"
        )
        assert entry["tlsCACerts"]["pem"] == network.layout.ca_cert(org.name).read_text()
        (ca,) = profile["organizations"][org.name]["certificateAuthorities"]
        assert (
            profile["certificateAuthorities"][ca]["url"] == f"https://{network.consortium.host}:{org.ca.port}"
        )
        assert "PRIVATE KEY" not in path.read_text()

    # What an application does with it: connect with its own identity and call a chaincode.
    org = network.consortium.org("DistributorA")
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    with fabrx.connect_profile(
        network.layout.connection_profile(org.name), identity=identity, signer=signer
    ) as gateway:
        assets = gateway.get_network("pharma").get_contract("asset-node").evaluate_transaction("GetAllAssets")
    assert isinstance(json.loads(assets), list)
    # The CA entry reaches the organization's CA.
    profile = json.loads(network.layout.connection_profile(org.name).read_text())
    (ca_entry,) = profile["certificateAuthorities"].values()
    with fabrx.CAClient(
        ca_entry["url"], tls_root_certs=ca_entry["tlsCACerts"]["pem"][0].encode(), ca_name=ca_entry["caName"]
    ) as ca:
        assert ca.info().ca_name == ca_entry["caName"]


def test_cli_prints_an_organization_s_connection_profile(network: ConsortiumNetwork) -> None:
    base = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]
    printed = CliRunner().invoke(cli, [*base, "network", "profile", "HospitalAMSP"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == json.loads(
        network.layout.connection_profile("HospitalA").read_text()
    )

    unknown = CliRunner().invoke(cli, [*base, "network", "profile", "Nobody", "--json"])
    assert unknown.exit_code != 0
    assert "no peer organization 'Nobody'" in unknown.output
