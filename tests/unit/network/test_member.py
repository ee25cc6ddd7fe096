"""A member file: the organization's own nodes and the channel's public facts, checked like a consortium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from fabrx.errors import AdminError
from fabrx_cli.main import cli
from fabrx_network.config import ConfigError
from fabrx_network.errors import NetworkError
from fabrx_network.layout import RunLayout
from fabrx_network.member import MemberDeployment, load_member
from fabrx_network.process import ProcessSupervisor

MEMBER: dict[str, Any] = {
    "name": "HospitalD",
    "msp_id": "HospitalDMSP",
    "role": "hospital",
    "host": "127.0.1.7",
    "port_base": 9100,
    "peers": [{"name": "peer0"}, {"name": "peer1", "port": 9200}],
    "channel": {"name": "pharma", "orderers": [{"address": "127.0.0.1:7052", "tls_ca_cert": "orderer.pem"}]},
    "chaincodes": [{"name": "pharma", "version": "1.0", "runtime": {"python": "pkg.module:Contract"}}],
}


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "member.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_member_file_gives_the_organizations_own_nodes_with_their_ports(tmp_path: Path) -> None:
    member = load_member(_write(tmp_path, MEMBER))
    org = member.org
    assert (org.name, org.msp_id, member.consortium.host) == ("HospitalD", "HospitalDMSP", "127.0.1.7")
    assert (org.ca.port, org.ca.operations_port) == (9100, 9101)
    assert [(p.port, p.chaincode_port, p.operations_port) for p in org.peers] == [
        (9102, 9103, 9104),
        (9200, 9105, 9106),
    ]
    assert member.chaincodes[0].server.ports == {"HospitalD": 9107}  # its own chaincode server
    assert [c.name for c in org.clients] == ["client"]
    assert member.channel == "pharma"
    assert [(o.address, o.tls_ca_cert) for o in member.orderers] == [
        ("127.0.0.1:7052", tmp_path / "orderer.pem")
    ]


def test_every_problem_of_a_member_file_is_named_at_its_own_path(tmp_path: Path) -> None:
    document = {
        **MEMBER,
        "peers": [{"name": "peer0", "port": 70000}],
        "chanel": "x",
        "channel": {"name": "pharma", "orderers": [{"address": "nohost", "tls_ca_cert": "x.pem"}]},
    }
    with pytest.raises(ConfigError) as refused:
        load_member(_write(tmp_path, document))
    message = str(refused.value)
    assert "errors in the member definition" in message
    paths = {p.path for p in refused.value.problems}
    assert {"chanel", "channel.orderers[0].address", "peers[0].port"} <= paths, paths


def test_a_missing_orderer_certificate_is_named(tmp_path: Path) -> None:
    document = {
        **MEMBER,
        "channel": {"name": "pharma", "orderers": [{"address": "h:1", "tls_ca_cert": "no.pem"}]},
    }
    with pytest.raises(ConfigError, match=r"channel.orderers\[0\].tls_ca_cert: no file"):
        load_member(_write(tmp_path, document))


def test_a_member_deployment_hands_out_its_own_identities_only(tmp_path: Path) -> None:
    deployment = MemberDeployment(load_member(_write(tmp_path, MEMBER)), RunLayout(tmp_path / "run"))
    assert [o.name for o in deployment.consortium.orgs] == ["HospitalD"]
    with pytest.raises(NetworkError, match="HospitalA is not this member's organization"):
        deployment.client_msp("HospitalA")
    with pytest.raises(NetworkError, match="run `fabrx member init`"):
        deployment.client_msp("HospitalDMSP")
    with pytest.raises(NetworkError, match=r"no identity 'admin' of HospitalD .*: run `fabrx member init`"):
        list(deployment.peer_admins())  # join and approve act as the admin: not a raw MSP-folder error
    assert deployment.nodes() == [
        "ca.HospitalD",
        "peer0.HospitalD",
        "peer1.HospitalD",
        "chaincode.pharma.HospitalD",
    ]


def _fake_nodes(monkeypatch: pytest.MonkeyPatch, running: set[str]) -> None:
    """The process table at the supervisor's seam: ``running`` are up, every other node is down."""
    monkeypatch.setattr(ProcessSupervisor, "is_running", lambda self, name: name in running)


def _fake_heights(
    monkeypatch: pytest.MonkeyPatch, peers: dict[str, int | Exception], orderer: int | Exception
) -> None:
    """The peers' and the orderer's answers at the admin seams of the member deployment."""

    def peer_height(self: MemberDeployment, peer: Any) -> int:
        answer = peers[peer.name]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def orderer_height(self: MemberDeployment) -> tuple[str, int]:
        if isinstance(orderer, Exception):
            raise orderer
        return "127.0.0.1:7052", orderer

    monkeypatch.setattr(MemberDeployment, "_peer_height", peer_height)
    monkeypatch.setattr(MemberDeployment, "_orderer_height", orderer_height)


def test_member_status_gives_each_peers_height_its_lag_behind_the_orderer_and_why_a_node_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = MemberDeployment(load_member(_write(tmp_path, MEMBER)), RunLayout(tmp_path / "run"))
    _fake_nodes(monkeypatch, {"ca.HospitalD", "peer0.HospitalD", "peer1.HospitalD"})
    _fake_heights(
        monkeypatch,
        {"peer0": 12, "peer1": AdminError("access denied: channel [pharma] creator org unknown")},
        orderer=15,
    )
    log = deployment.layout.log_file("chaincode.pharma.HospitalD")
    log.parent.mkdir(parents=True)
    log.write_text("starting\nserving on 127.0.1.7:9110\n\n\x1b[31mERROR\x1b[0m bad TLS key\nexiting\n")

    status = deployment.status()

    assert not status.up
    assert (status.orderer, status.orderer_height) == ("127.0.0.1:7052", 15)
    nodes = {n.name: n for n in status.nodes}
    assert [(n.kind, n.running) for n in status.nodes] == [
        ("ca", True),
        ("peer", True),
        ("peer", True),
        ("chaincode", False),
    ]
    assert (nodes["peer0.HospitalD"].address, nodes["peer0.HospitalD"].height) == ("127.0.1.7:9102", 12)
    assert nodes["peer0.HospitalD"].lag == 3
    assert nodes["peer1.HospitalD"].height is None and nodes["peer1.HospitalD"].lag is None
    assert "creator org unknown" in nodes["peer1.HospitalD"].problem
    down = nodes["chaincode.pharma.HospitalD"]
    assert down.reason == "exiting"
    assert down.log_tail == ["serving on 127.0.1.7:9110", "ERROR bad TLS key", "exiting"]
    assert nodes["ca.HospitalD"].reason == ""  # a running node has no reason to be down
    text = status.render()
    assert "pharma=12 (3 behind the orderer)" in text
    assert "creator org unknown" in text
    assert "ERROR bad TLS key" in text and "\x1b" not in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["NODE"])
    assert lines[header].split() == ["NODE", "KIND", "STATE", "ADDRESS", "HEIGHT", "(LAG)"]
    assert set(lines[header + 1].replace(" ", "")) == {"-"}
    assert lines[header + 3].split() == [
        "peer0.HospitalD", "peer", "up", "127.0.1.7:9102", "pharma=12", "(3", "behind", "the", "orderer)"
    ]  # fmt: skip
    assert lines[header + 3].index("127.0.1.7") == lines[header].index("ADDRESS")  # in its column
    row = next(i for i, line in enumerate(lines) if line.split()[:1] == ["chaincode.pharma.HospitalD"])
    assert lines[row].split()[1:3] == ["chaincode", "down"]
    assert lines[row + 1] == f"      down; last lines of {down.log}:"
    assert lines[row + 2 :] == [
        "        serving on 127.0.1.7:9110", "        ERROR bad TLS key", "        exiting"
    ]  # fmt: skip


def test_member_status_says_why_the_orderers_height_is_unknown_and_gives_no_lag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = MemberDeployment(load_member(_write(tmp_path, MEMBER)), RunLayout(tmp_path / "run"))
    everything = set(deployment.nodes())
    _fake_nodes(monkeypatch, everything)
    refused = NetworkError(
        "fetch the newest block of pharma from orderer 127.0.0.1:7052: refused with FORBIDDEN"
    )
    _fake_heights(monkeypatch, {"peer0": 20, "peer1": 20}, orderer=refused)

    status = deployment.status()

    assert status.up
    assert status.orderer_height is None and "FORBIDDEN" in status.orderer_problem
    assert [n.height for n in status.nodes if n.kind == "peer"] == [20, 20]
    assert all(n.lag is None for n in status.nodes)
    assert "height unknown (fetch the newest block" in status.render()


def test_member_status_on_the_command_line_exits_3_with_the_json_of_every_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, MEMBER)
    _fake_nodes(monkeypatch, {"ca.HospitalD", "peer0.HospitalD", "chaincode.pharma.HospitalD"})
    _fake_heights(monkeypatch, {"peer0": 15}, orderer=15)

    result = CliRunner().invoke(
        cli, ["--json", "--run-dir", str(tmp_path / "run"), "member", "status", "-f", str(path)]
    )

    assert result.exit_code == 3, result.output
    data = json.loads(result.output)
    assert (data["up"], data["orderer_height"]) == (False, 15)
    by_name = {n["name"]: n for n in data["nodes"]}
    assert (by_name["peer0.HospitalD"]["height"], by_name["peer0.HospitalD"]["lag"]) == (15, 0)
    assert by_name["peer1.HospitalD"]["running"] is False
    assert by_name["peer1.HospitalD"]["log"].endswith("peer1.HospitalD.log")
