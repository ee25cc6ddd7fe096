"""The orderer organization's own deployment: its file, checked like a consortium, and the genesis block
made from the founding members' join requests (public files), refused clearly when they do not fit."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx.admin import AnchorPeer, JoinRequest
from fabrx_cli.main import cli
from fabrx_network.config import ConfigError
from fabrx_network.errors import NetworkError
from fabrx_network.genesis import write_msp_folder
from fabrx_network.member import MemberDeployment, load_member_file, open_own_host
from fabrx_network.orderer_host import OrdererDeployment, OrdererOrgDefinition
from fabrx_network.process import ProcessSupervisor
from fabrx_network.render import FoundingMember, render_configtx

ORDERER: dict[str, Any] = {
    "name": "Orderer",
    "msp_id": "OrdererMSP",
    "host": "127.0.1.1",
    "port_base": 9000,
    "consensus": "etcdraft",
    "orderers": [{"name": "orderer0"}, {"name": "orderer1", "port": 9100}, {"name": "orderer2"}],
    "channel": {"name": "pharma", "block_cutting": {"batch_timeout": "50ms"}},
}


def _write(tmp_path: Path, document: dict[str, Any], name: str = "orderer.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _ca_pem(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _request(name: str, msp_id: str | None = None, anchor: str = "127.0.1.2:9200") -> JoinRequest:
    pem = _ca_pem(name)
    return JoinRequest(
        name=name,
        msp_id=msp_id or f"{name}MSP",
        root_certs=(pem,),
        tls_root_certs=(pem,),
        anchor_peers=(AnchorPeer.parse(anchor),),
    )


def _deployment(tmp_path: Path) -> OrdererDeployment:
    deployment = open_own_host(_write(tmp_path, ORDERER), tmp_path / "run")
    assert isinstance(deployment, OrdererDeployment)
    return deployment


def test_an_orderer_organization_file_gives_its_own_orderers_with_their_ports(tmp_path: Path) -> None:
    definition = load_member_file(_write(tmp_path, ORDERER))
    assert isinstance(definition, OrdererOrgDefinition)
    org = definition.org
    assert (org.name, org.msp_id, org.consensus_type) == ("Orderer", "OrdererMSP", "etcdraft")
    assert (org.ca.port, org.ca.operations_port) == (9000, 9001)
    assert [(o.port, o.admin_port, o.operations_port) for o in org.orderers] == [
        (9002, 9003, 9004),
        (9100, 9005, 9006),
        (9007, 9008, 9009),
    ]
    assert definition.channel.name == "pharma"
    assert definition.channel.block_cutting.batch_timeout.seconds == 0.05
    deployment = _deployment(tmp_path)
    assert deployment.nodes() == ["ca.Orderer", "orderer0.Orderer", "orderer1.Orderer", "orderer2.Orderer"]
    assert deployment.orderer_addresses == ["127.0.1.1:9002", "127.0.1.1:9100", "127.0.1.1:9007"]


def test_every_problem_of_an_orderer_organization_file_is_named_at_its_own_path(tmp_path: Path) -> None:
    document = {
        **ORDERER,
        "consensus": "BFT",  # with three orderers
        "orderers": [{"name": "orderer0", "port": 70000}, {"name": "orderer1"}, {"name": "orderer2"}],
        "peers": [{"name": "peer0"}],
        "channel": {"name": "pharma", "orgs": ["A"]},
    }
    with pytest.raises(ConfigError) as refused:
        load_member_file(_write(tmp_path, document))
    assert "errors in the orderer organization definition" in str(refused.value)
    paths = {p.path for p in refused.value.problems}
    assert {"peers", "channel.orgs", "orderers[0].port", "orderers"} <= paths, paths


def test_a_member_file_may_name_the_channels_other_members_in_its_endorsement_policy(tmp_path: Path) -> None:
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    member = {
        "name": "HospitalA",
        "role": "hospital",
        "peers": [{"name": "peer0"}],
        "channel": {"name": "pharma", "orderers": [{"address": "h:9002", "tls_ca_cert": "orderer.pem"}]},
        "chaincodes": [
            {"name": "pharma", "version": "1.0", "endorsement_policy": "OR('RegulatorMSP.peer')",
             "runtime": {"python": "pkg.module:Contract"}}
        ],
    }  # fmt: skip
    deployment = open_own_host(_write(tmp_path, member, "member.yaml"), tmp_path / "run")
    assert isinstance(deployment, MemberDeployment)
    policy = deployment.member.chaincodes[0].endorsement_policy
    assert policy.signature_policy == "OR('RegulatorMSP.peer')"
    member["chaincodes"][0]["endorsement_policy"] = "OR('RegulatorMSP.peer'"
    with pytest.raises(ConfigError, match=r"chaincodes\[0\].endorsement_policy"):
        load_member_file(_write(tmp_path, member, "member.yaml"))


def test_a_join_request_becomes_the_msp_folder_configtxgen_reads(tmp_path: Path) -> None:
    request = _request("HospitalA")
    folder = write_msp_folder(request, tmp_path / "msp")
    assert (folder / "cacerts" / "cert-0.pem").read_bytes() == request.root_certs[0]
    assert (folder / "tlscacerts" / "cert-0.pem").read_bytes() == request.tls_root_certs[0]
    assert not (folder / "intermediatecerts").exists()
    ous = yaml.safe_load((folder / "config.yaml").read_text())["NodeOUs"]
    assert ous["Enable"] is True
    assert ous["PeerOUIdentifier"] == {"OrganizationalUnitIdentifier": "peer"}
    assert JoinRequest.from_msp_folder("HospitalA", "HospitalAMSP", folder, request.anchor_peers) == request


def test_founding_members_are_rendered_from_their_own_msp_and_anchor_peers_on_their_own_hosts(
    tmp_path: Path,
) -> None:
    deployment = _deployment(tmp_path)
    consortium = deployment.consortium
    placeholder = consortium.orgs[0]
    founding = {placeholder.name: FoundingMember(tmp_path / "m" / "msp", (("127.0.1.5", 9300),))}
    document = yaml.safe_load(render_configtx(consortium, deployment.layout, founding))
    member = document["Profiles"]["pharma"]["Application"]["Organizations"][0]
    assert member["MSPDir"] == str(tmp_path / "m" / "msp")
    assert member["AnchorPeers"] == [{"Host": "127.0.1.5", "Port": 9300}]
    orderer = document["Profiles"]["pharma"]["Orderer"]
    assert orderer["BatchTimeout"] == "50ms"
    assert [c["Host"] for c in orderer["EtcdRaft"]["Consenters"]] == ["127.0.1.1"] * 3


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "no founding member"),
        ([_request("Regulator"), _request("regulator", "OtherMSP")], "organization regulator is already"),
        (
            [_request("Regulator"), _request("Other", "RegulatorMSP")],
            "MSP id RegulatorMSP is already request 1",
        ),
        ([_request("Orderer", "X")], "already the orderer organization's"),
        ([_request("X", "OrdererMSP")], "already the orderer organization's"),
    ],
)
def test_a_genesis_block_from_requests_that_do_not_fit_is_refused_and_nothing_is_written(
    tmp_path: Path, requests: list[JoinRequest], message: str
) -> None:
    deployment = _deployment(tmp_path)
    with pytest.raises(NetworkError, match=message):
        deployment.genesis(requests)
    assert not deployment.run_dir.exists()


def test_a_second_genesis_block_for_the_channel_is_refused(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path)
    deployment.genesis_block_file.parent.mkdir(parents=True)
    deployment.genesis_block_file.write_bytes(b"block")
    with pytest.raises(NetworkError, match="exists already"):
        deployment.genesis([_request("Regulator")])
    assert deployment.genesis_block_file.read_bytes() == b"block"


def test_a_genesis_block_needs_the_organizations_identities_first(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="run `fabrx member init`"):
        _deployment(tmp_path).genesis([_request("Regulator")])


def test_member_commands_for_the_other_kind_of_organization_are_refused_by_name(tmp_path: Path) -> None:
    orderer_file = _write(tmp_path, ORDERER)
    request = tmp_path / "Regulator.json"
    request.write_text(_request("Regulator").to_json())
    runner = CliRunner()
    run = ["--run-dir", str(tmp_path / "run"), "member"]
    result = runner.invoke(cli, [*run, "approve", "-f", str(orderer_file)])
    assert result.exit_code == 1
    assert "is the orderer organization's file" in result.output
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    member_file = _write(
        tmp_path,
        {
            "name": "Regulator",
            "role": "regulator",
            "peers": [{"name": "peer0"}],
            "channel": {"name": "pharma", "orderers": [{"address": "h:1", "tls_ca_cert": "orderer.pem"}]},
        },
        "member.yaml",
    )
    result = runner.invoke(cli, [*run, "genesis", "-f", str(member_file), "--request", str(request)])
    assert result.exit_code == 1
    assert "is a member's file" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(cli, [*run, "genesis", "-f", str(orderer_file), "--request", str(bad)])
    assert result.exit_code == 2
    assert "bad.json" in result.output and "format" in result.output
    assert not (tmp_path / "run").exists()


def test_the_orderer_organizations_systemd_units_run_its_ca_and_orderers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Fabric:
        bin_dir = tmp_path / "bin"
        ca_bin_dir = tmp_path / "bin"
        config_dir = tmp_path / "config"

    monkeypatch.setattr("fabrx_network._own_host.find_fabric", lambda *_: Fabric())
    units = _deployment(tmp_path).systemd_units(user="fabrx", path="/usr/bin")
    assert units.target == "fabrx-member-Orderer.target"
    names = sorted(units.files)
    assert names == [
        "fabrx-member-Orderer-ca.Orderer.service",
        "fabrx-member-Orderer-orderer0.Orderer.service",
        "fabrx-member-Orderer-orderer1.Orderer.service",
        "fabrx-member-Orderer-orderer2.Orderer.service",
        "fabrx-member-Orderer.target",
    ]
    orderer = units.files["fabrx-member-Orderer-orderer1.Orderer.service"]
    assert f"ExecStart={tmp_path / 'bin' / 'orderer'}" in orderer
    assert (
        "ORDERER_GENERAL_LISTENADDRESS=127.0.1.1" in orderer and "ORDERER_GENERAL_LISTENPORT=9100" in orderer
    )


def test_a_commit_endorsed_by_a_member_whose_request_names_no_anchor_peer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    member = {
        "name": "Regulator",
        "role": "regulator",
        "peers": [{"name": "peer0"}],
        "channel": {"name": "pharma", "orderers": [{"address": "h:9002", "tls_ca_cert": "orderer.pem"}]},
    }
    deployment = open_own_host(_write(tmp_path, member, "member.yaml"), tmp_path / "run")
    assert isinstance(deployment, MemberDeployment)
    pem = _ca_pem("Manufacturer")
    anchorless = JoinRequest(
        name="Manufacturer", msp_id="ManufacturerMSP", root_certs=(pem,), tls_root_certs=(pem,)
    )
    with pytest.raises(NetworkError, match="ManufacturerMSP names no anchor peer"):
        deployment.commit_chaincodes([anchorless])
    assert not (tmp_path / "run").exists()


def test_orderer_organization_status_gives_each_orderers_height_and_lag_behind_the_highest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = _deployment(tmp_path)
    running = {"ca.Orderer", "orderer0.Orderer", "orderer1.Orderer"}
    monkeypatch.setattr(ProcessSupervisor, "is_running", lambda self, name: name in running)
    heights = {"orderer0": 40, "orderer1": 37}
    monkeypatch.setattr(
        OrdererDeployment, "_orderer_node_height", lambda self, orderer: heights[orderer.name]
    )
    log = deployment.layout.log_file("orderer2.Orderer")
    log.parent.mkdir(parents=True)
    log.write_text("PANIC listen tcp 127.0.1.1:9007: bind: address already in use\n")

    status = deployment.status()

    assert not status.up
    assert (status.orderer, status.orderer_height) == ("127.0.1.1:9002", 40)
    nodes = {n.name: n for n in status.nodes}
    assert [(nodes[f"orderer{i}.Orderer"].height, nodes[f"orderer{i}.Orderer"].lag) for i in range(3)] == [
        (40, 0),
        (37, 3),
        (None, None),
    ]
    assert "address already in use" in nodes["orderer2.Orderer"].reason
    assert "address already in use" in status.render()
