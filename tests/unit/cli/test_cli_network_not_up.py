"""Every command that needs the network, run when it is not up, says so in one line with what to run.

Two cases: a run directory where the network was never started, and one where it was started and is
down now (nothing answers on its ports; the connection attempt is faked at the socket seam).
"""

from __future__ import annotations

import datetime
import json
import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx.admin import AnchorPeer, JoinRequest
from fabrx_cli.main import cli
from fabrx_network import NetworkNotUp, open_network
from fabrx_network.member import MemberDeployment, open_own_host

DEFAULT = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"

NEEDS_THE_NETWORK = [
    ["chaincode", "deploy"],
    ["chaincode", "query", "--org", "HospitalA", "pharma", "Ping"],
    ["chaincode", "invoke", "--org", "HospitalA", "pharma", "Ping"],
    ["channel", "config", "--as", "HospitalA"],
    ["channel", "fetch-block", "--as", "Orderer", "--output", "block.pb"],
    ["channel", "snapshot", "--as", "HospitalA"],
    ["pharma", "--org", "HospitalA", "stock", "PRODUCT", "BATCH"],
    ["pharma", "--org", "HospitalA", "verify", "24110000000000000001"],
    ["pharma", "--org", "Regulator", "report"],
    ["pharma", "--org", "DistributorA", "read-invoice", "24110000000000000001"],
    ["supervision", "--store", "sqlite:///store.db", "feed", "--org", "Regulator"],
]
"""Commands that talk to a running node."""

NEEDS_A_STARTED_NETWORK = [
    ["network", "logs"],
    ["network", "logs", "peer0.HospitalA"],
    ["network", "profile", "HospitalA"],
    ["network", "units", "--org", "HospitalA", "--output", "units"],
    ["network", "restart", "peer0.HospitalA"],
    ["serve", "--org", "HospitalA"],
]
"""Commands that read what `network up` wrote (the network may be stopped since)."""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # files a command would write (block.pb, units/, store.db) land here


def _run(tmp_path: Path, argv: list[str], *, json_mode: bool = False) -> tuple[int, str]:
    args = ["--config", str(DEFAULT), "--run-dir", str(tmp_path / "run"), *argv]
    result = CliRunner().invoke(cli, ["--json", *args] if json_mode else args)
    return result.exit_code, result.output


@pytest.mark.parametrize("argv", NEEDS_THE_NETWORK + NEEDS_A_STARTED_NETWORK, ids=" ".join)
def test_a_command_on_a_network_never_started_says_so_and_what_to_run(
    tmp_path: Path, argv: list[str]
) -> None:
    code, output = _run(tmp_path, argv)
    assert code == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "the network 'pharma' is not up" in lines[0] and "start it with `fabrx network up`" in lines[0]
    assert not (tmp_path / "run").exists()  # nothing was created by asking


def _started_run(tmp_path: Path) -> Path:
    """A run directory `network up` wrote (and `network down` stopped)."""
    run = tmp_path / "run"
    run.mkdir()
    consensus = open_network(DEFAULT, run).consortium.orderer_org.consensus
    state = {"consortium": "pharma", "consensus": consensus, "phase": "down"}
    (run / "state.json").write_text(json.dumps(state), encoding="utf-8")
    return run


def _stopped_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """A started run directory where every connection is refused; returns the addresses tried."""
    _started_run(tmp_path)
    tried: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], timeout: float | None = None) -> socket.socket:
        tried.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return tried


@pytest.mark.parametrize("argv", NEEDS_THE_NETWORK, ids=" ".join)
def test_a_command_on_a_stopped_network_names_the_node_that_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    tried = _stopped_network(tmp_path, monkeypatch)
    code, output = _run(tmp_path, argv)
    assert code == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "the network 'pharma' is down:" in lines[0] and "does not answer at 127.0.0.1:" in lines[0]
    assert "start it with `fabrx network up`" in lines[0]
    assert len(tried) == 1


def test_the_stopped_network_check_asks_the_acting_organization_s_own_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried = _stopped_network(tmp_path, monkeypatch)
    net = open_network(DEFAULT, tmp_path / "run")
    hospital = net.consortium.org("HospitalA")
    with pytest.raises(NetworkNotUp, match=r"peer0\.HospitalA does not answer"):
        net.require_up("HospitalAMSP")
    assert tried == [(net.consortium.host, hospital.peers[0].port)]
    with pytest.raises(NetworkNotUp, match=r"orderer0\.Orderer does not answer"):
        net.require_up()


def test_a_running_network_passes_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = open_network(DEFAULT, _started_run(tmp_path))
    tried: list[tuple[str, int]] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        real = socket.create_connection

        def to_listener(address: tuple[str, int], timeout: float | None = None) -> socket.socket:
            tried.append(address)
            return real(listener.getsockname(), timeout)

        monkeypatch.setattr(socket, "create_connection", to_listener)
        net.require_up("HospitalA")  # the peer's port answers: no error
    assert len(tried) == 1


def test_status_of_a_network_never_started_is_the_one_line_of_what_to_run(tmp_path: Path) -> None:
    # Not a table of twenty nodes all down: nothing ran here yet, and the line says what to run.
    code, output = _run(tmp_path, ["network", "status"])
    assert code == 3  # a negative answer, not a failure: the status itself was taken
    assert output.strip().splitlines() == [
        f"the network 'pharma' is not up: {tmp_path / 'run'} holds no network; start it with "
        "`fabrx network up` (with the same --config and --run-dir)"
    ]
    assert not (tmp_path / "run").exists()
    code, output = _run(tmp_path, ["network", "status"], json_mode=True)
    assert code == 3
    status = json.loads(output)  # the JSON document lists every node, as for a started network
    assert status["healthy"] is False and not any(n["running"] for n in status["nodes"])


def test_status_of_a_stopped_network_shows_its_nodes_down_and_ends_with_what_to_run(tmp_path: Path) -> None:
    _started_run(tmp_path)
    code, output = _run(tmp_path, ["network", "status"])
    assert code == 3
    lines = output.strip().splitlines()
    assert lines[0].startswith("consortium pharma (") and lines[0].endswith("): NOT healthy")
    assert lines[1].split()[:3] == ["NODE", "KIND", "STATE"]
    assert any(line.split()[:3] == ["peer0.HospitalA", "peer", "down"] for line in lines)
    assert lines[-1] == (
        "the network 'pharma' is not running: start it with `fabrx network up` (with the same --config and "
        "--run-dir)"
    )


def test_json_mode_reports_the_same_line_as_a_json_error(tmp_path: Path) -> None:
    code, output = _run(tmp_path, ["pharma", "--org", "HospitalA", "stock", "P", "B"], json_mode=True)
    assert code == 1
    error = json.loads(output)
    assert "is not up" in error["error"] and "fabrx network up" in error["problems"][0]["message"]


# --- one organization's own deployment (`fabrx member`) --------------------------------------------------

MEMBER_FILE = {
    "name": "HospitalD",
    "msp_id": "HospitalDMSP",
    "role": "hospital",
    "host": "127.0.1.7",
    "port_base": 9100,
    "peers": [{"name": "peer0"}],
    "channel": {"name": "pharma", "orderers": [{"address": "127.0.0.1:7052", "tls_ca_cert": "orderer.pem"}]},
    "chaincodes": [{"name": "pharma", "version": "1.0", "runtime": {"python": "pkg.module:Contract"}}],
}
ORDERER_FILE = {
    "name": "Orderer",
    "msp_id": "OrdererMSP",
    "host": "127.0.1.1",
    "port_base": 9000,
    "consensus": "etcdraft",
    "orderers": [{"name": "orderer0"}],
    "channel": {"name": "pharma"},
}


def _member_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The member's file, the orderer organization's file and a founding member's join request."""
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    member, orderer = tmp_path / "member.yaml", tmp_path / "orderer.yaml"
    member.write_text(yaml.safe_dump(MEMBER_FILE, sort_keys=False))
    orderer.write_text(yaml.safe_dump(ORDERER_FILE, sort_keys=False))
    pem = _ca_pem()
    request = JoinRequest(
        name="HospitalA",
        msp_id="HospitalAMSP",
        root_certs=(pem,),
        tls_root_certs=(pem,),
        anchor_peers=(AnchorPeer.parse("127.0.1.2:9200"),),
    )
    path = tmp_path / "HospitalA.json"
    path.write_text(request.to_json())
    return member, orderer, path


def _ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca.HospitalA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _member(tmp_path: Path, argv: list[str], *, json_mode: bool = False) -> tuple[int, str]:
    args = ["--run-dir", str(tmp_path / "run"), "member", *argv]
    result = CliRunner().invoke(cli, ["--json", *args] if json_mode else args)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["commit", "approve"])
def test_a_member_command_on_a_member_never_set_up_says_so_and_what_to_run(
    tmp_path: Path, command: str
) -> None:
    member, _, request = _member_files(tmp_path)
    argv = [command, "-f", str(member), *(["--request", str(request)] if command == "commit" else [])]
    code, output = _member(tmp_path, argv)
    assert code == 1, output
    assert output.strip().splitlines() == [
        f"error: HospitalD is not up: {tmp_path / 'run'} holds no deployment of it; start it with "
        "`fabrx member up` (with the same --file and --run-dir)"
    ]
    assert not (tmp_path / "run").exists()
    code, output = _member(tmp_path, argv, json_mode=True)
    assert code == 1 and "fabrx member up" in json.loads(output)["problems"][0]["message"]


@pytest.mark.parametrize("command", ["commit", "approve"])
def test_a_member_command_on_a_stopped_member_names_its_peer_that_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    member, _, request = _member_files(tmp_path)
    deployment = open_own_host(member, tmp_path / "run")
    assert isinstance(deployment, MemberDeployment)
    (deployment.layout.user_msp("HospitalD", "admin").path / "signcerts").mkdir(parents=True)
    tried: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], timeout: float | None = None) -> socket.socket:
        tried.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    argv = [command, "-f", str(member), *(["--request", str(request)] if command == "commit" else [])]
    code, output = _member(tmp_path, argv)
    assert code == 1, output
    assert output.strip().splitlines() == [
        "error: HospitalD is down: peer0.HospitalD does not answer at 127.0.1.7:9102 (Connection refused); "
        "start it with `fabrx member up` (with the same --file and --run-dir)"
    ]
    assert tried == [("127.0.1.7", 9102)]  # its own first peer, asked once, before anything else


def test_genesis_of_an_orderer_organization_never_set_up_says_so_and_what_to_run(tmp_path: Path) -> None:
    _, orderer, request = _member_files(tmp_path)
    code, output = _member(tmp_path, ["genesis", "-f", str(orderer), "--request", str(request)])
    assert code == 1, output
    assert output.strip().splitlines() == [
        f"error: Orderer is not set up: no identities of it in {tmp_path / 'run'} yet; run "
        "`fabrx member init` (with the same --file and --run-dir)"
    ]
    assert not (tmp_path / "run").exists()
