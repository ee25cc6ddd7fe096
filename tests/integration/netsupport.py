"""Shared helpers of the integration and reliability suites: the installed Fabric, the test consortium
file, and the session's running network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

import fabrx
from fabrx.errors import AdminError
from fabrx_network import open_network
from fabrx_network.install import FabricInstall, find_fabric
from fabrx_network.render import ProcessSpec

if TYPE_CHECKING:
    from fabrx_network import ConsortiumNetwork

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONSORTIUM = REPO / "network" / "consortium.yaml"
INTEROP = REPO / "tests" / "interop"

# The test network keeps the default consortium's organizations, channel and chaincodes, on ports of
# its own so that it never collides with a demo network left running on a developer machine. Test ports
# stay below Linux's ephemeral range (32768-60999): a port there can be taken by an outgoing connection.
# FABRX_TEST_PORT_BASE moves it again, so that two suites can run side by side on one machine.
TEST_PORT_BASE = int(os.environ.get("FABRX_TEST_PORT_BASE", "27050"))

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


class _Shared:
    """The session's one network, counted by the fixtures that hold it (one per suite's conftest)."""

    lock = threading.Lock()
    network: ConsortiumNetwork | None = None
    holders = 0


@contextmanager
def session_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsortiumNetwork]:
    """The test consortium, brought up by the first suite's session fixture that asks for it and
    stopped (and checked stopped) when the last one lets go.

    The integration and reliability suites each declare a ``network`` fixture in their conftest; a
    fixture of one conftest is invisible to the other's tests, and two networks on the same ports
    would collide, so both hold this one.
    """
    with _Shared.lock:
        if _Shared.network is None:
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
            except BaseException:
                net.down()
                raise
            _Shared.network = net
        _Shared.holders += 1
        network = _Shared.network
    try:
        yield network
    finally:
        with _Shared.lock:
            _Shared.holders -= 1
            last = _Shared.holders == 0
            if last:
                _Shared.network = None
        if last:
            stopped = network.down()
            leftover = [n for n in network.supervisor.processes if network.supervisor.is_running(n)]
            assert not leftover, f"still running after down: {leftover} (stopped {stopped})"


@contextmanager
def organization_gateways(network: ConsortiumNetwork) -> Iterator[Callable[[str], fabrx.Gateway]]:
    """``connect("HospitalA")``: a Gateway as that organization's SDK client on its own peer, opened once
    and closed at the end."""
    opened: dict[str, fabrx.Gateway] = {}

    def connect(org_name: str) -> fabrx.Gateway:
        if org_name not in opened:
            org = network.consortium.org(org_name)
            identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
            opened[org_name] = fabrx.connect(
                network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer
            )
        return opened[org_name]

    try:
        yield connect
    finally:
        for gateway in opened.values():
            gateway.close()


def caught_up(
    network: ConsortiumNetwork, reader: str, writer: str, *, channel: str = "pharma", timeout: float = 10.0
) -> None:
    """Wait until ``reader``'s peer has every block ``writer``'s peer has committed.

    A submit returns once the writer's own peer committed it; another organization's peer commits the
    same block a moment later. A read through that organization's gateway waits for this first.
    """

    def height(org_name: str) -> int:
        org = network.consortium.org(org_name)
        with network.peer_admin(org, org.peers[0]) as admin:
            return admin.chain_info(channel).height

    target = height(writer)
    deadline = time.monotonic() + timeout
    while (current := height(reader)) < target:
        if time.monotonic() > deadline:
            pytest.fail(f"{reader}'s peer is at height {current} of {channel}, {writer}'s at {target}")
        time.sleep(0.1)


def installed_fabric() -> FabricInstall:
    """The Fabric that `make fabric` installed. Fails (never skips) when it is missing."""
    install = find_fabric()
    if install is None:
        pytest.fail("Fabric 3.1.5 / Fabric CA 1.5.21 are not installed: run `make fabric` (make test does)")
    return install


def consortium_for_tests(extra_chaincodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The default consortium definition (its pharma chaincode included), moved to the test ports, with
    ``extra_chaincodes`` for the runtime and client tests."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONSORTIUM.read_text(encoding="utf-8"))
    data["port_base"] = TEST_PORT_BASE
    data["chaincode_execute_timeout"] = "5s"
    data["chaincodes"] = [*data.get("chaincodes", []), *extra_chaincodes]
    return data


def node_gateway_calls(
    network: ConsortiumNetwork, org_name: str, chaincode: str, calls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Make ``calls`` on ``chaincode`` with the official Node Gateway client as ``org_name``'s client.

    Runs ``tests/interop/gateway-call.js``; each result is ``{"ok": true, "result": ...}`` or
    ``{"ok": false, "error": ..., "details": [...]}``.
    """
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


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop a process a test started: SIGTERM, then SIGKILL if it is still running after ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def spawned_node(
    spec: ProcessSpec, ready: Callable[[], object], *, timeout: float = 60.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a node that fabrx rendered (``spec``: a peer or orderer beside the session's network, its
    files in the test's own run directory) and wait until ``ready()`` returns instead of raising
    :class:`~fabrx.errors.AdminError` (its admin endpoint answers); stop it at the end.

    Fails the test with the end of the node's log if it exits or does not answer within ``timeout``.
    """
    spec.cwd.mkdir(parents=True, exist_ok=True)
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    with spec.log_path.open("wb") as log:
        process = subprocess.Popen(
            list(spec.argv),
            env={**spec.env, "PATH": "/usr/bin:/bin"},
            cwd=spec.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                pytest.fail(f"{spec.name} exited with {process.returncode}:\n{tail(spec.log_path)}")
            try:
                ready()
                break
            except AdminError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{spec.name} did not answer within {timeout:.0f} s:\n{tail(spec.log_path)}")
                time.sleep(0.2)
        yield process
    finally:
        stop_process(process)


def tail(log: Path, size: int = 3000) -> str:
    """The end of a node's log, for a failure message."""
    return log.read_text(errors="replace")[-size:]
