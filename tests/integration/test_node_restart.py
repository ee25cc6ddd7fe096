"""A node killed outright comes back the documented way while every other node keeps running.

Each test kills one node of the shared session network with SIGKILL (what an OOM kill or a crash does),
brings it back with `fabrx network up` or `fabrx network restart`, and checks by pid that no other
node was stopped or restarted. A busy port makes `up` fail naming the port and its holder, and touch
nothing that runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrx
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork, UpError


def _pids(network: ConsortiumNetwork) -> dict[str, int]:
    """Every running node of the network and its pid."""
    supervisor = network.supervisor
    return {name: record.pid for name, record in supervisor.processes.items() if supervisor.is_running(name)}


def _kill_outright(network: ConsortiumNetwork, node: str) -> None:
    """SIGKILL ``node`` and wait until it is gone entirely: a Go process's leader thread shows as a zombie
    while its other threads still hold its sockets, so wait until it is reaped (``is_running`` reaps)."""
    pid = network.supervisor.processes[node].pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while network.supervisor.is_running(node) or Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"{node} (pid {pid}) not gone 30 s after SIGKILL"
        time.sleep(0.05)


def _program() -> str:
    return os.path.basename(os.readlink(f"/proc/{os.getpid()}/exe"))


def test_a_peer_killed_outright_is_brought_back_by_up_and_nothing_else_restarts(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    node = "peer0.DistributorA"
    before = _pids(network)
    _kill_outright(network, node)

    report = network.up()

    assert report.started == [node]
    assert node not in report.already_running and len(report.already_running) == len(before) - 1
    after = _pids(network)
    assert after[node] != before[node]
    assert {n: p for n, p in after.items() if n != node} == {n: p for n, p in before.items() if n != node}
    contract = gateway_for("DistributorA").get_network("pharma").get_contract("asset-node")
    created = json.loads(
        contract.submit_transaction("CreateAsset", "after-kill-9", "red", "1", "dist-a", "1")
    )
    assert created["ID"] == "after-kill-9"


def test_the_chaincode_server_killed_outright_is_restarted_by_the_cli_and_serves_again(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    node = "chaincode.asset-py"
    before = _pids(network)
    _kill_outright(network, node)

    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(network.base_dir / "consortium.yaml"),
            "--run-dir",
            str(network.run_dir),
            "--json",
            "network",
            "restart",
            node,
        ],
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["node"] == node and data["was_running"] is False
    after = _pids(network)
    assert after[node] == data["pid"] != before[node]
    assert {n: p for n, p in after.items() if n != node} == {n: p for n, p in before.items() if n != node}
    contract = gateway_for("Regulator").get_network("pharma").get_contract("asset-py")
    contract.submit_transaction("CreateAsset", "cc-after-kill-9", "teal", "2", "regulator", "3")
    assert (
        json.loads(contract.evaluate_transaction("ReadAsset", "cc-after-kill-9"))["ID"] == "cc-after-kill-9"
    )


def test_restart_of_a_running_node_stops_and_starts_only_that_node(network: ConsortiumNetwork) -> None:
    node = "ca.HospitalB"
    before = _pids(network)

    report = network.restart(node)

    assert report.was_running and report.pid != before[node]
    after = _pids(network)
    assert {n: p for n, p in after.items() if n != node} == {n: p for n, p in before.items() if n != node}
    with pytest.raises(fabrx.FabrxError, match=r"no node called 'peer9\.Nowhere'"):
        network.restart("peer9.Nowhere")
    assert _pids(network) == after


def test_a_busy_port_fails_up_naming_port_and_program_and_touches_no_running_node(
    network: ConsortiumNetwork,
) -> None:
    node = "peer0.HospitalB"
    port = network.consortium.org("HospitalB").peers[0].port
    before = _pids(network)
    _kill_outright(network, node)
    running = {n: p for n, p in before.items() if n != node}

    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((network.consortium.host, port))
        blocker.listen()
        with pytest.raises(UpError) as raised:
            network.up()

    message = str(raised.value)
    assert (
        f"{node} needs {network.consortium.host}:{port}, which is held by pid {os.getpid()} ({_program()})"
        in (message)
    )
    assert "this run started no node and stopped none" in message
    assert f"{len(running)} node(s) that were already running keep running" in message
    assert raised.value.started == () and raised.value.stopped == ()
    assert _pids(network) == running

    report = network.up()  # the port is free again: the documented way brings the peer back
    assert report.started == [node]
    after = _pids(network)
    assert {n: p for n, p in after.items() if n != node} == running


def test_restart_of_the_regulators_peer_returns_when_the_network_serves_again(
    network: ConsortiumNetwork,
) -> None:
    node = "peer0.Regulator"
    before = _pids(network)

    report = network.restart(node)

    assert report.was_running and report.pid != before[node]
    after = _pids(network)
    assert {n: p for n, p in after.items() if n != node} == {n: p for n, p in before.items() if n != node}
    org = network.consortium.org("Regulator")
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    with fabrx.connect(network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer) as gateway:
        contract = gateway.get_network("pharma").get_contract("asset-node")
        created = json.loads(
            contract.submit_transaction("CreateAsset", "after-restart", "red", "1", "reg", "1")
        )
    assert created["ID"] == "after-restart"
